import json, os, time, zmq

endpoint = os.environ.get("TICKFAN_INGEST", "tcp://127.0.0.1:5554")
push = zmq.Context().socket(zmq.PUSH)
push.connect(endpoint)
for i in range(10):
    record = {"venue": "PY", "symbol": "DEMO", "bid": round(100 + i * 0.01, 2),
              "ask": round(100.05 + i * 0.01, 2), "exchTs": time.time_ns() // 1000}
    push.send_multipart([b"tick.PY.DEMO", json.dumps(record).encode()])
push.close(linger=5000)  # returns once the messages are delivered (or after 5 s)

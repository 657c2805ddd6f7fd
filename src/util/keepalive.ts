/**
 * Kernel keepalives on connections that carry data: a peer host that vanished (power, a dead
 * link) is noticed in about 10 s and the connection is made again, instead of hanging half
 * open. The kernel answers them even while the process is busy or stopped, so they never
 * kill a healthy connection. ZMTP heartbeats do not go on these connections: libzmq (4.3.5)
 * cannot read a heartbeat while its receive queue is full, so under backpressure it times out
 * healthy connections, and replacing a stalled connection can abort the process
 * (zeromq/libzmq#3937). They go on the line probes instead (a LineSet without subscriptions),
 * which carry no data, so their queues never fill.
 */
export const TCP_KEEPALIVE = { tcpKeepalive: 1, tcpKeepaliveIdle: 5, tcpKeepaliveInterval: 1, tcpKeepaliveCount: 5 } as const;


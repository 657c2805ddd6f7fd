/**
 * Resolves when `done()` resolves true, asked every intervalMs and bounded by timeoutMs. Only for
 * what has no event to wait on: another program's HTTP API, an endpoint turning ready.
 */
export async function pollUntil(done: () => Promise<boolean>, what: string, timeoutMs: number, intervalMs = 250): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await done().catch(() => false)) return;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

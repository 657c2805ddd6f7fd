/** Host and port of a tcp:// endpoint (an IPv6 host keeps its brackets), or undefined for ipc and inproc. */
export function tcpHostPort(endpoint: string): { readonly host: string; readonly port: string } | undefined {
  const match = /^tcp:\/\/(.+):([^:\]]+)$/.exec(endpoint);
  return match ? { host: match[1]!, port: match[2]! } : undefined;
}

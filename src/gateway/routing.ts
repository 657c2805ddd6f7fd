import { INSTRUMENT_CLASSES } from '../wire/index.js';

/**
 * Which clients a topic's ticks go to. Patterns are exact topics or prefixes (`tick.SIM.*`,
 * `*`). Routing one tick costs one cache lookup and then O(matching clients): the matching
 * set of each topic is computed once and kept until the subscriptions change, which is
 * rare next to the tick rate.
 */
export class SubscriptionIndex<Client> {
  private readonly exact = new Map<string, Set<Client>>();
  private readonly prefixes = new Map<string, Set<Client>>();
  /** How many prefix patterns there are of each length: only those lengths are looked up. */
  private readonly prefixLengths = new Map<number, number>();
  private readonly routes = new Map<string, readonly Client[]>();

  add(client: Client, pattern: string): void {
    const [table, key] = this.slot(pattern);
    let clients = table.get(key);
    if (!clients) {
      table.set(key, (clients = new Set()));
      if (table === this.prefixes) this.prefixLengths.set(key.length, (this.prefixLengths.get(key.length) ?? 0) + 1);
    }
    clients.add(client);
    this.routes.clear();
  }

  remove(client: Client, pattern: string): void {
    const [table, key] = this.slot(pattern);
    const clients = table.get(key);
    if (!clients?.delete(client)) return;
    if (clients.size === 0) {
      table.delete(key);
      if (table === this.prefixes) {
        const left = this.prefixLengths.get(key.length)! - 1;
        if (left === 0) this.prefixLengths.delete(key.length);
        else this.prefixLengths.set(key.length, left);
      }
    }
    this.routes.clear();
  }

  /** Every client with at least one pattern matching `topic`, each once. */
  matching(topic: string): readonly Client[] {
    let route = this.routes.get(topic);
    if (route === undefined) {
      route = this.compute(topic);
      this.routes.set(topic, route);
    }
    return route;
  }

  /** Whether any pattern of anyone matches `topic`. */
  wanted(topic: string): boolean {
    return this.matching(topic).length > 0;
  }

  private compute(topic: string): Client[] {
    const found = new Set<Client>(this.exact.get(topic));
    for (const length of this.prefixLengths.keys()) {
      if (length > topic.length) continue;
      const clients = this.prefixes.get(topic.slice(0, length));
      if (clients) for (const client of clients) found.add(client);
    }
    return [...found];
  }

  private slot(pattern: string): [Map<string, Set<Client>>, string] {
    return pattern.endsWith('*') ? [this.prefixes, pattern.slice(0, -1)] : [this.exact, pattern];
  }
}

/** The ZeroMQ subscription prefix a pattern needs: the topic itself, or the part before `*`. */
export function upstreamPrefix(pattern: string): string {
  return pattern.endsWith('*') ? pattern.slice(0, -1) : pattern;
}

/**
 * The `status.` prefix a pattern also needs upstream (PROTOCOL.md section 5: a client hears the
 * status of every venue whose ticks its patterns can match; tickfan extends that to the venue's
 * books and trades, which the same feed carries), or undefined when the pattern's own prefix
 * already covers it or it can match no instrument topic.
 */
export function statusPrefix(pattern: string): string | undefined {
  const fixed = upstreamPrefix(pattern);
  if (STATUS_PREFIX.startsWith(fixed)) return undefined;
  if (INSTRUMENT_PREFIXES.some((prefix) => prefix.startsWith(fixed))) return STATUS_PREFIX;
  const prefix = INSTRUMENT_PREFIXES.find((candidate) => fixed.startsWith(candidate));
  if (prefix === undefined) return undefined;
  const rest = fixed.slice(prefix.length);
  const venueEnd = rest.indexOf('.');
  return STATUS_PREFIX + (venueEnd === -1 ? rest : rest.slice(0, venueEnd));
}

/** Every upstream prefix a pattern needs: its own, and the status prefix of the venues it can match. */
export function upstreamPrefixes(pattern: string): string[] {
  const status = statusPrefix(pattern);
  return status === undefined ? [upstreamPrefix(pattern)] : [upstreamPrefix(pattern), status];
}

/** Whether `pattern` can match some tick, book or trade topic of `venue`. */
export function coversVenue(pattern: string, venue: string): boolean {
  const fixed = upstreamPrefix(pattern);
  return INSTRUMENT_PREFIXES.some((prefix) => {
    const venueTopics = `${prefix}${venue}.`;
    if (!pattern.endsWith('*')) return pattern.startsWith(venueTopics);
    return fixed.startsWith(venueTopics) || venueTopics.startsWith(fixed);
  });
}

const INSTRUMENT_PREFIXES = INSTRUMENT_CLASSES.map((kind) => `${kind}.`);
const STATUS_PREFIX = 'status.';

/** Verdicts and the plain-text tables of bench/fanout.ts (also valid Markdown, for docs/performance.md). */
import os from 'node:os';
import { count, cpu, markdownTable, micros, ratio } from '../common/format.js';
import { BOOKS } from './books.js';
import { SERVER_LABELS, type Case, type CaseName } from './cases.js';
import { INSTRUMENTS } from './instruments.js';
import { SAMPLE_EVERY } from './sample-check.js';
import { BOOK_CHECKERS_PER_PROCESS, GRACE_MICROS, type StepResult } from './step.js';

/** A step is sustained with p99 below this... */
export const P99_LIMIT_MICROS = 100_000;
/** ...at least this share of the expected events delivered inside the window... */
export const DELIVERED_SHARE = 0.98;
/** ...no growing backlog: the last second's p50 above the first second's by both this factor and this much... */
const BACKLOG_FACTOR = 2;
const BACKLOG_MICROS = 10_000;
/** ...and the feed offering (nearly) the asked rate. */
const OFFERED_SHARE = 0.95;
/** A load process above this (% of one core) may have been the limit rather than the server. */
export const LOAD_SATURATED_PERCENT = 85;
const SERVER_SATURATED_PERCENT = 90;
/**
 * Conflation: the gateway's memory per slow client is bounded by design: its socket's
 * gateway.bufferedHighWaterBytes (256 KiB), one conflated frame (a 250-byte event per topic)
 * and its conflation map (about 100 bytes per topic). Its RSS must stay under that for every
 * client, with 1.5x for the garbage collector's slack, above its RSS before clients came...
 */
const HIGH_WATER_BYTES = 256 * 1024;
const CONFLATED_BYTES_PER_TOPIC = 350;
/**
 * ...for a book topic the frame's event is a merged update, kept for the clients at the same
 * seq until the book's next record: tens of levels for a reader some records behind, ~600 bytes,
 * and the session's note of where the client's book stands.
 */
const CONFLATED_BYTES_PER_BOOK = 1_000;
const GC_SLACK = 1.5;
/**
 * ...and the slow readers must get at least this share of what they are willing to read. Loose:
 * a paused client still takes the frames it has already read, and a conflated frame holds up to
 * one event per topic, so over a few seconds a client's read rate is only roughly its budget.
 */
const READ_SHARE = 0.5;

/** The issue's targets, in events/s delivered, and against the baseline at 1,000 clients. */
const TARGET_1000 = 1_500_000;
const TARGET_100 = 2_000_000;
const TARGET_RATIO_1000 = 8;
/** Issue 15: the all-in-one layout's sustained events/s against NATS's in the same run. */
const TARGET_ALLINONE_TO_NATS_100 = 1;
const TARGET_ALLINONE_TO_NATS_1000 = 2;

export interface Verdict {
  readonly sustained: boolean;
  /** Why not, in a few words; empty when sustained. */
  readonly problem: string;
  /** A load process was near a full core: the load side, not the server, may have been the limit. */
  readonly loadBound: boolean;
}

/** The most RSS a gateway with the case's slow clients may have (see HIGH_WATER_BYTES). */
export function conflationRssBound(step: StepResult): number {
  const perTopics = step.case.traffic === 'books' ? BOOKS * CONFLATED_BYTES_PER_BOOK : INSTRUMENTS * CONFLATED_BYTES_PER_TOPIC;
  return step.serverRssIdle + GC_SLACK * step.case.clients * (HIGH_WATER_BYTES + perTopics);
}

/** What a case's rates count. */
export function rateUnit(spec: Case): string {
  return spec.traffic === 'books' ? 'book records/s' : 'ticks/s';
}

export function judge(step: StepResult): Verdict {
  const problems: string[] = [];
  const conflation = step.case.readPerSecond > 0;
  if (step.offeredPerSecond < OFFERED_SHARE * step.rate) problems.push('feed short');
  if (step.closedClients > 0) problems.push(`${step.closedClients} clients closed`);
  if (step.invalidEvents > 0) problems.push(`${count(step.invalidEvents)} invalid events (${step.checkProblem ?? '?'})`);
  if (step.books.mismatches > 0) problems.push(`${count(step.books.mismatches)} book mismatches (${step.books.problem ?? '?'})`);
  if (conflation) {
    if (step.serverRssEnd > conflationRssBound(step)) problems.push(`RSS over ${mb(conflationRssBound(step))}`);
    if (step.delivered < READ_SHARE * step.case.clients * step.case.readPerSecond * step.seconds) problems.push('readers starved');
  } else {
    if (step.delivered < DELIVERED_SHARE * step.expected) problems.push('lost/late');
    if (step.latency === undefined || step.latency.p99 >= P99_LIMIT_MICROS) problems.push('p99 too high');
    if (backlogGrowing(step)) problems.push('backlog growing');
  }
  return { sustained: problems.length === 0, problem: problems.join(', '), loadBound: Math.max(...step.loadCpus) > LOAD_SATURATED_PERCENT };
}

function backlogGrowing({ firstSecondP50: first, lastSecondP50: last }: StepResult): boolean {
  if (first === undefined || last === undefined) return false;
  return last > BACKLOG_FACTOR * first && last - first > BACKLOG_MICROS;
}

const COLUMNS = [
  'case', 'clients', 'interest', 'asked ticks/s', 'offered ticks/s', 'delivered events/s', 'delivered %', 'received events/s',
  'p50', 'p99', 'p99.9', 'max', 'p50 1st s → last s', 'server CPU', 'server RSS start → end', 'load CPU max', 'other CPU', 'events checked', 'verdict',
] as const;

export function resultsTable(steps: readonly StepResult[]): string {
  return markdownTable(COLUMNS, steps.map(row), ['case', 'verdict']);
}

/** One line per step, on stderr while the ramps run. */
export function progressLine(step: StepResult): string {
  return `${step.case.name} at ${count(step.rate)} ${rateUnit(step.case)}: ${verdictCell(step)} (${count(deliveredPerSecond(step))} events/s, ${share(step)} delivered, p99 ${micros(step.latency?.p99)})`;
}

function row(step: StepResult): string[] {
  const { latency } = step;
  return [
    step.case.name,
    count(step.case.clients),
    step.case.interest >= 1 ? 'all' : `${Math.round(step.case.interest * 100)}%`,
    count(step.rate),
    count(step.offeredPerSecond),
    count(deliveredPerSecond(step)),
    share(step),
    count(step.received / step.seconds),
    micros(latency?.p50),
    micros(latency?.p99),
    micros(latency?.p999),
    micros(latency?.max),
    `${micros(step.firstSecondP50)} → ${micros(step.lastSecondP50)}`,
    cpu(step.serverCpu),
    `${mb(step.serverRssStart)} → ${mb(step.serverRssEnd)}`,
    cpu(Math.max(...step.loadCpus)),
    cpu(step.otherCpu),
    count(step.checkedEvents),
    verdictCell(step),
  ];
}

function verdictCell(step: StepResult): string {
  const verdict = judge(step);
  const parts = [verdict.sustained ? 'ok' : verdict.problem];
  if (verdict.loadBound) parts.push('LOAD-BOUND');
  if (step.feedDropped > 0) parts.push(`feed dropped ${count(step.feedDropped)}`);
  return parts.join('; ');
}

export function legend(): string {
  return [
    `offered = ticks/s the feed published during the window; delivered = events stamped inside the window that reached a client`,
    `within ${micros(GRACE_MICROS)} after it, and % of those expected (offered x clients x share of topics). Latency = client receipt - the`,
    `event's ts (the feed's publish time), over those events. received = events that arrived inside the window, however old:`,
    `what a lagging server still pushed through. CPU = % of one core over the window; other CPU = what programs outside the`,
    `benchmark used of the machine's ${os.cpus().length} cores meanwhile (a row with much of it is suspect on a shared machine);`,
    `load CPU max = the busiest load process, LOAD-BOUND above ${LOAD_SATURATED_PERCENT}% (then the load side, not the server, was the limit).`,
    `Sustained = p99 < ${micros(P99_LIMIT_MICROS)}, >= ${DELIVERED_SHARE * 100}% delivered, no growing backlog (the last second's p50 more than`,
    `${BACKLOG_FACTOR}x and ${micros(BACKLOG_MICROS)} above the first second's), the feed offering >= ${OFFERED_SHARE * 100}% of the asked rate.`,
    `Conflation: clients read at most their budget; delivered = events read inside the window, however old; judged by the gateway's`,
    `RSS (under its idle RSS + 1.5 x clients x (256 KiB socket high-water + 350 B per topic)), no client closed, the readers getting >= ${READ_SHARE * 100}% of their budget. Its latency includes`,
    `the time an event waits in the paused client's socket buffers.`,
    `events checked: every client fully parses 1 frame (or NATS message) in ${SAMPLE_EVERY} it receives, every event of it, and checks its fields and that seqs per topic`,
    `only go up; an invalid one fails the step.`,
    `server CPU: the gateway process on the split fabric; the one process of the all-in-one layout (proxy, snapshot, gateway); nats-server.`,
    `books cases: ticks/s = book records/s over ${BOOKS} books, every client on every book; ${BOOK_CHECKERS_PER_PROCESS} clients per load process also parse every frame and`,
    `apply every book record to their books, checking each checksum (a mismatch fails the step; see the books lines below; their events`,
    `are among those checked). A books conflation case's RSS bound counts ${CONFLATED_BYTES_PER_BOOK} B per book instead of ${CONFLATED_BYTES_PER_TOPIC} B per topic.`,
  ].join('\n');
}

interface CaseSummary {
  /** The highest sustained step. */
  readonly sustained: StepResult | undefined;
  /** The first failed step above it. */
  readonly limit: StepResult | undefined;
  readonly peakDelivered: number;
  readonly peakReceived: number;
}

function summarize(steps: readonly StepResult[], name: CaseName): CaseSummary | undefined {
  const ramp = steps.filter((s) => s.case.name === name);
  if (ramp.length === 0) return undefined;
  const sustained = ramp.filter((s) => judge(s).sustained).at(-1);
  return {
    sustained,
    limit: ramp.find((s) => !judge(s).sustained && s.rate > (sustained?.rate ?? 0)),
    peakDelivered: Math.max(...ramp.map(deliveredPerSecond)),
    peakReceived: Math.max(...ramp.map((s) => s.received / s.seconds)),
  };
}

export function summaryText(steps: readonly StepResult[]): string {
  const lines: string[] = [];
  for (const name of ['all-1000', 'allinone-1000', 'nats-1000', 'baseline-1000', 'all-100', 'allinone-100', 'nats-100', 'baseline-100', 'partial-1000', 'allinone-partial-1000', 'nats-partial-1000', 'books-1000'] as const) {
    const summary = summarize(steps, name);
    if (summary === undefined) continue;
    const { sustained, limit, peakDelivered, peakReceived } = summary;
    const unit = rateUnit((sustained ?? limit ?? steps.find((s) => s.case.name === name)!).case);
    lines.push(`- ${name}: sustained ${sustained ? `${count(sustained.rate)} ${unit} = ${count(deliveredPerSecond(sustained))} events/s` : 'no step'}` +
      `; peak delivered ${count(peakDelivered)} events/s, peak received ${count(peakReceived)} events/s`);
    lines.push(`    ${limit ? `failed at ${count(limit.rate)} ${unit} (${judge(limit).problem}): ${limitedBy(limit)}` : 'never failed: its limit lies above the top step'}`);
  }
  lines.push(...targetLines(steps));
  const conflation = steps.find((s) => s.case.name === 'conflation-1000');
  if (conflation) {
    const budget = conflation.case.clients * conflation.case.readPerSecond;
    lines.push(`- conflation-1000: ${count(conflation.case.clients)} clients reading <= ${count(conflation.case.readPerSecond)} events/s each at ${count(conflation.rate)} ticks/s offered: ` +
      `${count(deliveredPerSecond(conflation))} events/s read (budget ${count(budget)}), gateway RSS ${mb(conflation.serverRssIdle)} before its clients, ${mb(conflation.serverRssStart)} → ${mb(conflation.serverRssEnd)} over the window, bound ${mb(conflationRssBound(conflation))}: ${verdictCell(conflation)}`);
  }
  lines.push(...metricsCostLines(steps));
  lines.push(...bookLines(steps));
  return lines.join('\n');
}

/**
 * Per step of a books case: the gateway's CPU per delivered event and what the checking clients
 * found; then the conflating case against the step of books-1000 nearest to it in delivered
 * events/s. Not against one at the same offered rate: the gateway's CPU hardly falls with the
 * rate (~60-75% of a core from 500 records/s up, as in all-1000), so per event it is cheapest at
 * the top of a ramp, and a step far from the conflating one in events/s would compare that
 * instead. What remains between the two is the conflating case's ten times more records taken
 * in (each parsed, validated and applied to the gateway's book) and its merges.
 */
function bookLines(steps: readonly StepResult[]): string[] {
  const books = steps.filter((s) => s.case.traffic === 'books');
  if (books.length === 0) return [];
  const lines = ['Books (checking clients: every record validated, applied and its checksum compared):'];
  for (const step of books) {
    const { applied, mismatches, merged, mergedRecords, wholeBooks } = step.books;
    lines.push(`- ${step.case.name} at ${count(step.rate)} ${rateUnit(step.case)}: gateway ${cpuPerEvent(step).toFixed(3)} us CPU per delivered event; ` +
      `${count(applied)} book records applied in the window, ${count(mismatches)} checksum mismatches in the step; ${count(merged)} merged` +
      (merged > 0 ? ` (${percent(merged / applied)} of the records applied, ${count(wholeBooks)} of them whole books), standing for ${count(mergedRecords)} records (${(mergedRecords / merged).toFixed(1)} each)` : ''));
  }
  const conflating = books.find((s) => s.case.readPerSecond > 0);
  const ramp = books.filter((s) => s.case.readPerSecond === 0);
  if (conflating === undefined || ramp.length === 0) return lines;
  const distance = (s: StepResult): number => Math.abs(deliveredPerSecond(s) - deliveredPerSecond(conflating));
  const reference = ramp.reduce((best, s) => (distance(s) < distance(best) ? s : best));
  const mergedPerSecond = deliveredPerSecond(conflating) * (conflating.books.merged / Math.max(1, conflating.books.applied));
  lines.push(`- conflating vs not: ${cpuPerEvent(conflating).toFixed(3)} vs ${cpuPerEvent(reference).toFixed(3)} us gateway CPU per delivered event ` +
    `(${count(deliveredPerSecond(conflating))} vs ${count(deliveredPerSecond(reference))} events/s, books-1000 at ${count(reference.rate)} ${rateUnit(reference.case)}, ${judge(reference).sustained ? 'sustained' : 'not sustained'}); ` +
    `gateway ${cpu(conflating.serverCpu)} vs ${cpu(reference.serverCpu)} for ${ratio(conflating.offeredPerSecond / reference.offeredPerSecond)} the records taken in and ~${count(mergedPerSecond)} merged updates/s (the checking clients' share of them)`);
  return lines;
}

/** metrics-on against metrics-off: gateway CPU per delivered event, and events/s. */
function metricsCostLines(steps: readonly StepResult[]): string[] {
  const on = steps.find((s) => s.case.name === 'metrics-on');
  const off = steps.find((s) => s.case.name === 'metrics-off');
  if (on === undefined || off === undefined) return [];
  const cost = cpuPerEvent(on) / cpuPerEvent(off) - 1;
  return [
    `- metrics cost at ${count(on.rate)} ticks/s x ${count(on.case.clients)} clients: gateway ${cpuPerEvent(on).toFixed(3)} us CPU per event with metrics, ` +
      `${cpuPerEvent(off).toFixed(3)} without (${(cost * 100).toFixed(1)}%); delivered ${count(deliveredPerSecond(on))} vs ${count(deliveredPerSecond(off))} events/s; target < 5%: ${met(cost < 0.05)}`,
  ];
}

function targetLines(steps: readonly StepResult[]): string[] {
  const sustainedEvents = (name: CaseName): number | undefined => {
    const summary = summarize(steps, name);
    return summary && (summary.sustained ? deliveredPerSecond(summary.sustained) : 0);
  };
  const lines: string[] = ['Targets (sustained delivered events/s):'];
  const all1000 = sustainedEvents('all-1000');
  const base1000 = sustainedEvents('baseline-1000');
  const all100 = sustainedEvents('all-100');
  const base100 = sustainedEvents('baseline-100');
  if (all1000 !== undefined) lines.push(`- 1,000 clients: ${count(all1000)} events/s, target >= ${count(TARGET_1000)}: ${met(all1000 >= TARGET_1000)}`);
  if (all1000 !== undefined && base1000 !== undefined) {
    lines.push(base1000 > 0
      ? `- 1,000 clients, tickfan/baseline: ${ratio(all1000 / base1000)}, target >= ${TARGET_RATIO_1000}x: ${met(all1000 / base1000 >= TARGET_RATIO_1000)}`
      : `- 1,000 clients, tickfan/baseline: no ratio (the baseline sustained no step)${peakRatio(steps, 'all-1000', 'baseline-1000')}`);
  }
  if (all100 !== undefined) lines.push(`- 100 clients: ${count(all100)} events/s, target >= ${count(TARGET_100)}: ${met(all100 >= TARGET_100)}`);
  if (all100 !== undefined && base100 !== undefined) {
    lines.push(base100 > 0
      ? `- 100 clients, tickfan/baseline: ${ratio(all100 / base100)}`
      : `- 100 clients, tickfan/baseline: no ratio (the baseline sustained no step)${peakRatio(steps, 'all-100', 'baseline-100')}`);
  }
  lines.push(...peerTargetLines(sustainedEvents, 'allinone-100', 'nats-100', TARGET_ALLINONE_TO_NATS_100));
  lines.push(...peerTargetLines(sustainedEvents, 'allinone-1000', 'nats-1000', TARGET_ALLINONE_TO_NATS_1000));
  return lines.length > 1 ? lines : [];
}

/** The all-in-one layout against NATS, sustained, in this run. */
function peerTargetLines(sustainedEvents: (name: CaseName) => number | undefined, ours: CaseName, nats: CaseName, target: number): string[] {
  const mine = sustainedEvents(ours);
  const theirs = sustainedEvents(nats);
  if (mine === undefined || theirs === undefined) return [];
  const what = `- ${ours} / ${nats}`;
  if (theirs === 0) return [`${what}: no ratio (NATS sustained no step), target >= ${ratio(target)}`];
  return [`${what}: ${ratio(mine / theirs, 2)} (${count(mine)} / ${count(theirs)} events/s), target >= ${ratio(target)}: ${met(mine / theirs >= target)}`];
}

/** When the baseline sustained nothing, the ratio of the most events/s each pushed through at any step, as a hint. */
function peakRatio(steps: readonly StepResult[], tickfan: CaseName, baseline: CaseName): string {
  const ours = summarize(steps, tickfan)?.peakReceived ?? 0;
  const theirs = summarize(steps, baseline)?.peakReceived ?? 0;
  return theirs > 0 ? `; peak received events/s, sustained or not: ${ratio(ours / theirs)} (${count(ours)} / ${count(theirs)})` : '';
}

/** What most likely limited a failed step, from who was out of CPU. */
function limitedBy(step: StepResult): string {
  const load = Math.max(...step.loadCpus);
  const cores = os.cpus().length;
  const machine = step.machineCpu >= (SERVER_SATURATED_PERCENT / 100) * cores * 100
    ? `; the machine was out of CPU (${cpu(step.machineCpu)} of ${cores} cores, ${cpu(step.otherCpu)} of it by programs outside the benchmark)`
    : '';
  const server = `${serverName(step)} at ${cpu(step.serverCpu)} of a core`;
  if (step.serverCpu >= SERVER_SATURATED_PERCENT) return `the server (${server})${load > LOAD_SATURATED_PERCENT ? `, and a load process at ${cpu(load)}` : ''}${machine}`;
  if (load > LOAD_SATURATED_PERCENT) return `the load side (a load process at ${cpu(load)}; ${server})${machine}`;
  return `no process saturated (${server}, load at most ${cpu(load)})${machine || ': queueing or scheduling'}`;
}

function deliveredPerSecond(step: StepResult): number {
  return step.delivered / step.seconds;
}

/** The server's CPU per event it delivered, µs. */
function cpuPerEvent(step: StepResult): number {
  return ((step.serverCpu / 100) * 1e6) / Math.max(1, deliveredPerSecond(step));
}

function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}

function share(step: StepResult): string {
  return step.expected > 0 ? `${((100 * step.delivered) / step.expected).toFixed(1)}%` : '-';
}

function met(yes: boolean): string {
  return yes ? 'met' : 'NOT met';
}

function mb(bytes: number): string {
  return `${Math.round(bytes / 2 ** 20)} MB`;
}

function serverName(step: StepResult): string {
  switch (step.case.server) {
    case 'tickfan':
      return 'gateway';
    case 'allinone':
      return 'all-in-one process';
    case 'nats':
      return 'nats-server';
    case 'baseline':
      return 'baseline server';
  }
}

const PEER_COLUMNS = [
  'clients', 'interest', 'layout', 'case', 'sustained ticks/s', 'sustained events/s', 'ratio to NATS',
  'peak received events/s', 'peak ratio to NATS', 'failed at', 'why',
] as const;

/**
 * Per clients and interest, each layout's highest sustained step and its ratio to NATS's in the
 * same run: the cases of the same clients, interest and ramp, read at full speed with the
 * shipped settings (the conflation and metrics cases have no peers). The most events/s each
 * pushed through at any step, sustained or not, and its ratio too: a hint where a busy machine
 * left a layout no sustained step.
 */
export function peersTable(steps: readonly StepResult[]): string {
  const peerSteps = steps.filter((s) => s.case.readPerSecond === 0 && s.case.gatewayEnv === undefined);
  const groups = new Map<string, StepResult[]>();
  for (const step of peerSteps) {
    // Books are their own group: the same clients and interest as all-1000, but other traffic.
    const key = `${step.case.traffic}/${step.case.clients}/${step.case.interest}`;
    groups.set(key, [...(groups.get(key) ?? []), step]);
  }
  const rows: string[][] = [];
  for (const group of groups.values()) {
    const names = [...new Set(group.map((s) => s.case.name))] as CaseName[];
    const summaries = names.map((name) => ({ name, summary: summarize(group, name)!, server: group.find((s) => s.case.name === name)!.case.server }));
    const nats = summaries.find((s) => s.server === 'nats');
    const natsEvents = nats === undefined ? undefined : nats.summary.sustained === undefined ? 0 : deliveredPerSecond(nats.summary.sustained);
    const toNats = (ours: number, theirs: number | undefined): string => (theirs === undefined ? '-' : theirs > 0 ? ratio(ours / theirs, 2) : 'NATS: none');
    for (const { name, summary, server } of summaries) {
      const { sustained, limit, peakReceived } = summary;
      const events = sustained === undefined ? 0 : deliveredPerSecond(sustained);
      const first = group[0]!.case;
      rows.push([
        count(first.clients),
        first.interest >= 1 ? 'all' : `${Math.round(first.interest * 100)}%`,
        SERVER_LABELS[server],
        name,
        sustained === undefined ? 'none' : count(sustained.rate),
        count(events),
        toNats(events, natsEvents),
        count(peakReceived),
        toNats(peakReceived, nats?.summary.peakReceived),
        limit === undefined ? 'never' : count(limit.rate),
        limit === undefined ? 'above the top step' : judge(limit).problem,
      ]);
    }
  }
  return markdownTable(PEER_COLUMNS, rows, ['layout', 'case', 'why']);
}

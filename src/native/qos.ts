// QoS classes at the native engines' doors (native/common/qos.h): every submission to the stream
// and ICMP engines carries its class, and each engine keeps part of its slots for the classes that
// matter most (nested shares: best_effort at most bestEffortShare of the slots, best_effort and
// standard together at most standardShare, critical and /probe work the rest). A lower class's
// submission past its engine queue's bound ends at once as shed (a result with reason 'shed').

/** The engine classes: the task classes of QOS_CLASSES, and /probe requests' own. */
export const ENGINE_CLASSES = ['critical', 'standard', 'best_effort', 'probe'] as const;
export type EngineClass = (typeof ENGINE_CLASSES)[number];

/** The native number of a class (kQos* in native/common/qos.h): its index here. Absent: critical, as before classes existed. */
export function engineClassNumber(c: EngineClass | undefined): number {
  const i = c === undefined ? 0 : ENGINE_CLASSES.indexOf(c);
  return i < 0 ? 0 : i;
}

/** As the engines take them (options.qos, setQos). */
export interface EngineQosLimits {
  /** of an engine's slots, held by best_effort probes; (0, 1] */
  bestEffortShare: number;
  /** of an engine's slots, held by standard and best_effort probes together; (0, 1] */
  standardShare: number;
  /** standard or best_effort probes waiting in one engine (one ICMP shard) past which new ones are shed */
  queueBound: number;
}

export interface EngineClassCounters {
  /** took a slot */
  started: number;
  /** ended at once: their class's queue was past its bound */
  shed: number;
  /** waiting for a slot now */
  waiting: number;
  /** holding a slot now */
  held: number;
}

/** The per-class counters of an engine's counters() (qosStarted0 ... qosHeld3, native/glue). */
export function classCounters(c: Readonly<Record<string, number>>): Record<EngineClass, EngineClassCounters> {
  const out = {} as Record<EngineClass, EngineClassCounters>;
  ENGINE_CLASSES.forEach((name, k) => {
    out[name] = { started: c[`qosStarted${k}`] ?? 0, shed: c[`qosShed${k}`] ?? 0, waiting: c[`qosWaiting${k}`] ?? 0, held: c[`qosHeld${k}`] ?? 0 };
  });
  return out;
}

/** Sums per-class counters (the engines of a pool). */
export function addClassCounters(into: Record<EngineClass, EngineClassCounters>, more: Record<EngineClass, EngineClassCounters>): void {
  for (const name of ENGINE_CLASSES) {
    const a = into[name];
    const b = more[name];
    a.started += b.started;
    a.shed += b.shed;
    a.waiting += b.waiting;
    a.held += b.held;
  }
}

/** Clock port: the only source of "now" outside tests. The core takes `now` as an argument. */
export interface Clock {
  now(): Date;
}
export const systemClock: Clock = { now: () => new Date() };

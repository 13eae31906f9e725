/**
 * Polls the external bases that BuildConfigs follow (ImageChange triggers on
 * images no BuildConfig produces) and reports a changed digest as an image
 * update. One HEAD on the manifest per image per interval, through the
 * `Registry` port, so a manifest list or OCI index is followed by its own
 * digest, never a platform child's.
 *
 * Each image keeps its own schedule: `nextAt` is the normal interval after a
 * success or a permanent failure (404, 401: a warning names the image), and an
 * exponential backoff after a temporary one (429, 5xx, network), doubling up to
 * `maxBackoffMs`. Every time decision reads the injected clock; the real timer
 * in `start()` only decides when to look at the clock again.
 *
 * Ticks never overlap: a `tick()` asked for while one runs is queued behind it
 * (at most one waits; further requests share it).
 */
import type { Logger } from "pino";
import { CascadeError, RegistryError } from "../core/errors.js";
import type { Clock } from "../ports/clock.js";
import type { Registry } from "../ports/registry.js";

export const DEFAULT_POLL_INTERVAL_MS = 5 * 60_000;
export const DEFAULT_MAX_BACKOFF_MS = 60 * 60_000;
/** `start()` looks at the clock at least this often, so newly followed images are polled soon. */
export const DEFAULT_WAKE_MS = 30_000;
const MIN_WAKE_MS = 1_000;
const DEFAULT_CONCURRENCY = 4;

export interface BasePollerOptions {
  registry: Registry;
  clock: Clock;
  log: Logger;
  /** The normalised image references to watch, read at every tick. Duplicates are ignored. */
  images: () => Promise<string[]>;
  /** Called when an image's digest differs from the last one known. A throw is retried with backoff. */
  onChange: (image: string, digest: string) => Promise<void>;
  /** Poll interval per image, in ms. Default 5 minutes. */
  intervalFor?: (image: string) => number;
  /** Ceiling of the backoff after temporary errors, in ms. Default 1 hour (or the interval, if longer). */
  maxBackoffMs?: number;
  /** Digests already known (keys in the same form as `images()`): an unchanged first poll reports nothing. */
  initial?: ReadonlyMap<string, string>;
  /** Report the first sighting of an image with no known digest as a change. Default false. */
  reportFirst?: boolean;
  /** Images polled at once within a tick. Default 4. */
  concurrency?: number;
  /** Longest real wait between two looks at the clock in `start()`, in ms. Default 30 s. */
  wakeMs?: number;
}

export interface BaseImageStatus {
  image: string;
  /** The last digest seen (or given in `initial`); undefined until the first success. */
  digest: string | undefined;
  /** When `digest` was last confirmed by the registry (ISO 8601). */
  checkedAt: string | undefined;
  /** When the image is next due (ISO 8601). */
  nextAt: string;
  /** Consecutive failed polls; 0 after a success. */
  failures: number;
  /** The message of the last failure, until a success clears it. */
  lastError: string | undefined;
}

export interface TickResult {
  /** Images polled in this tick. */
  polled: string[];
  /** Changes reported through `onChange`. */
  changes: Array<{ image: string; digest: string; previous: string | undefined }>;
  /** Polls that failed, with whether the failure was temporary. */
  errors: Array<{ image: string; message: string; temporary: boolean }>;
}

interface ImageState {
  nextAt: number;
  checkedAt: number | undefined;
  failures: number;
  lastError: string | undefined;
}

export class BasePoller {
  readonly #o: BasePollerOptions;
  /** Last known digest per image; survives an image leaving the watch list. */
  readonly #known: Map<string, string>;
  /** Schedule per watched image, in epoch ms of the injected clock. */
  readonly #state = new Map<string, ImageState>();
  #current: Promise<TickResult> | undefined;
  #queued: Promise<TickResult> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(options: BasePollerOptions) {
    this.#o = options;
    this.#known = new Map(options.initial ?? []);
  }

  /**
   * Polls every watched image that is due. Never overlaps another tick: while
   * one runs, a call returns the tick queued after it. Rejects only when
   * `images()` does; per-image failures are in the result and in `status()`.
   */
  tick(): Promise<TickResult> {
    if (this.#queued !== undefined) return this.#queued;
    if (this.#current !== undefined) {
      const queued = this.#current
        .catch(() => undefined)
        .then(() => {
          this.#queued = undefined;
          return this.#runTick();
        });
      this.#queued = queued;
      return queued;
    }
    return this.#runTick();
  }

  /** Runs `tick()` now and then whenever an image is due, on an unref'd timer. Idempotent. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#schedule(0);
  }

  /** Stops the timer and waits for a tick in progress (and one queued behind it) to finish. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    await Promise.allSettled([this.#current, this.#queued]);
  }

  /** Per watched image: digest, last confirmation, next poll, failures. Sorted by image. */
  status(): BaseImageStatus[] {
    return [...this.#state.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([image, s]) => ({
        image,
        digest: this.#known.get(image),
        checkedAt: s.checkedAt === undefined ? undefined : new Date(s.checkedAt).toISOString(),
        nextAt: new Date(s.nextAt).toISOString(),
        failures: s.failures,
        lastError: s.lastError,
      }));
  }

  // ---------------------------------------------------------------- internals

  #runTick(): Promise<TickResult> {
    const run = this.#pollDue().finally(() => {
      if (this.#current === run) this.#current = undefined;
    });
    this.#current = run;
    return run;
  }

  async #pollDue(): Promise<TickResult> {
    const watched = new Set(await this.#o.images());
    const now = this.#now();
    for (const image of this.#state.keys()) if (!watched.has(image)) this.#state.delete(image);
    for (const image of watched) {
      if (!this.#state.has(image)) {
        this.#state.set(image, { nextAt: now, checkedAt: undefined, failures: 0, lastError: undefined });
      }
    }
    const due = [...watched].filter((image) => this.#state.get(image)!.nextAt <= now);
    const result: TickResult = { polled: due, changes: [], errors: [] };

    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < due.length) await this.#poll(due[next++]!, result);
    };
    const width = Math.max(1, Math.min(this.#o.concurrency ?? DEFAULT_CONCURRENCY, due.length));
    await Promise.all(Array.from({ length: width }, worker));
    return result;
  }

  async #poll(image: string, result: TickResult): Promise<void> {
    const interval = this.#intervalFor(image);
    let digest: string;
    try {
      ({ digest } = await this.#o.registry.resolveDigest(image));
    } catch (err) {
      this.#failed(image, err, interval, result);
      return;
    }

    const previous = this.#known.get(image);
    const changed = previous === undefined ? this.#o.reportFirst === true : previous !== digest;
    if (changed) {
      try {
        await this.#o.onChange(image, digest);
      } catch (err) {
        // Keep the old digest, so the change is reported again on the retry.
        this.#failed(image, err, interval, result, "reporting the change failed", true);
        return;
      }
      result.changes.push({ image, digest, previous });
      this.#o.log.info({ image, digest, previous }, "base image changed");
    } else if (previous === undefined) {
      this.#o.log.debug({ image, digest }, "base image first seen");
    }

    const state = this.#state.get(image);
    this.#known.set(image, digest);
    if (state === undefined) return; // no longer watched
    if (state.failures > 0) this.#o.log.info({ image, digest, failures: state.failures }, "base image poll recovered");
    const at = this.#now();
    state.checkedAt = at;
    state.failures = 0;
    state.lastError = undefined;
    state.nextAt = at + interval;
  }

  #failed(image: string, err: unknown, interval: number, result: TickResult, what = "", forceTemporary = false): void {
    const message = (what ? `${what}: ` : "") + (err instanceof Error ? err.message : String(err));
    const temporary = forceTemporary || (err instanceof CascadeError && err.temporary);
    result.errors.push({ image, message, temporary });
    const state = this.#state.get(image);
    if (state === undefined) return;
    const at = this.#now();
    const repeated = state.failures > 0 && state.lastError === message;
    state.failures += 1;
    state.lastError = message;
    const status = err instanceof RegistryError ? err.status : undefined;
    if (temporary) {
      // The interval doubles with each consecutive temporary failure, up to the ceiling.
      const ceiling = Math.max(this.#o.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, interval);
      const delay = Math.min(interval * 2 ** Math.min(state.failures, 30), ceiling);
      state.nextAt = at + delay;
      this.#o.log.warn(
        { image, status, failures: state.failures, retryInMs: delay, error: message },
        `polling base image ${image} failed (temporary); retrying in ${Math.round(delay / 1000)} s`,
      );
    } else {
      // Permanent (404, 401, a bad reference): nothing to back off from; try again at the normal pace.
      state.nextAt = at + interval;
      const fields = { image, status, failures: state.failures, error: message };
      if (repeated) this.#o.log.debug(fields, `polling base image ${image} still fails`);
      else this.#o.log.warn(fields, `polling base image ${image} failed: ${message}`);
    }
  }

  #intervalFor(image: string): number {
    const ms = this.#o.intervalFor?.(image);
    return ms !== undefined && Number.isFinite(ms) && ms > 0 ? ms : DEFAULT_POLL_INTERVAL_MS;
  }

  #now(): number {
    return this.#o.clock.now().getTime();
  }

  #schedule(delayMs: number): void {
    if (!this.#running) return;
    // A wake that was mid-tick across stop()/start() must not leave a second loop behind.
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.#wake(), delayMs);
    this.#timer.unref();
  }

  async #wake(): Promise<void> {
    this.#timer = undefined;
    try {
      await this.tick();
    } catch (err) {
      this.#o.log.error({ err }, "base image poll tick failed");
    }
    this.#schedule(this.#untilNextDue());
  }

  /** Real ms until the earliest due image, between 1 s and `wakeMs`. */
  #untilNextDue(): number {
    const wake = this.#o.wakeMs ?? DEFAULT_WAKE_MS;
    let earliest = Infinity;
    for (const s of this.#state.values()) earliest = Math.min(earliest, s.nextAt);
    const until = earliest - this.#now();
    return Math.max(Math.min(until, wake), Math.min(MIN_WAKE_MS, wake));
  }
}

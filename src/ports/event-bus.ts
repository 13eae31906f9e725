/** EventBus port: where Cascade's outbound CloudEvents go (subscribers locally, EventBridge on AWS). */
import type { CascadeEvent } from "../core/events-out.js";

export interface EventBus {
  publish(events: readonly CascadeEvent[]): Promise<void>;
}

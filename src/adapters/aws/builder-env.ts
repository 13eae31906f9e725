/**
 * The builder task's environment, as the ECS runner sets it in RunTask's
 * container overrides and the task's entry (`builder-task.ts`) and the
 * `task-stopped` function read it back. A module of its own, so that reading
 * these names pulls no SDK client into a bundle.
 */
/** `namespace/id` of the build the task runs. */
export const BUILD_ENV = "CASCADE_BUILD";
/** The build's completion deadline, in seconds. */
export const DEADLINE_ENV = "CASCADE_DEADLINE_SECONDS";
/** `startedBy` of every builder task: what tells Cascade's tasks from others on the same cluster. */
export const STARTED_BY = "cascade";

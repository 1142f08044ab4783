/**
 * The engine's own record of a run: `pulumi up --event-log <file>` writes one JSON event per line, in the order
 * the engine made its steps. Tests read the order of completed steps from it (a Secret updated before the old
 * password was deleted), which no summary line shows.
 */
import * as fs from "node:fs";

/** One completed step: the operation and the resource. */
export interface EngineStep {
    readonly sequence: number;
    readonly op: string;
    readonly urn: string;
    readonly type: string;
}

interface EngineEvent {
    readonly sequence: number;
    readonly resOutputsEvent?: { readonly metadata: { readonly op: string; readonly urn: string; readonly type: string } };
}

/** The completed steps of an event log, in the engine's order. */
export function engineSteps(file: string): EngineStep[] {
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter((line) => line.trim() !== "")
        .map((line) => JSON.parse(line) as EngineEvent)
        .filter((event) => event.resOutputsEvent !== undefined)
        .sort((a, b) => a.sequence - b.sequence)
        .map((event) => ({ sequence: event.sequence, ...event.resOutputsEvent!.metadata }));
}

/** The index of the first step matching `op` and a URN ending with `nameSuffix` (-1 when none). */
export function stepIndex(steps: readonly EngineStep[], op: RegExp, nameSuffix: string): number {
    return steps.findIndex((step) => op.test(step.op) && step.urn.endsWith(nameSuffix));
}

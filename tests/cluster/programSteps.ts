/**
 * Steps the whole-program tests share (tests/cluster/program.test.ts, tests/cluster/pull.test.ts): creating a stack as a
 * user would, finding what a stack left in the Azure twin, and moving the twin's clock.
 */
import * as assert from "node:assert/strict";
import type { ProgramProject } from "./program";
import { deployerSecrets, type TwinWorld } from "./twinWorld";
import type { TwinPassword, TwinState } from "../twin/store";

/** Creates the stack as a user would, signing in as the twin's deployers (their secrets set through the CLI). */
export async function newStack(
    project: ProgramProject,
    world: TwinWorld,
    stack: string,
    config: Record<string, unknown>,
    secrets: Record<string, string> = {},
): Promise<void> {
    await project.initStack(stack, config, { ...deployerSecrets(world), ...secrets });
}

/** The application a stack made, found by its display name. */
export function applicationOf(state: TwinState, displayName: string): TwinState["applications"][string] {
    const found = Object.values(state.applications).filter((app) => app.displayName === displayName);
    assert.equal(found.length, 1, `expected one application named ${displayName}, found ${found.length}`);
    return found[0];
}

export function passwordsOf(state: TwinState, applicationObjectId: string): TwinPassword[] {
    return Object.values(state.passwords).filter((password) => password.applicationObjectId === applicationObjectId);
}

/** Moves the twin's clock (and the program's) so that it reads `at`. */
export function setClock(world: TwinWorld, at: number): void {
    world.store.mutate((state, log) => {
        state.clockOffsetMs = at - Date.now();
        log("test", "move clock", new Date(at).toISOString());
    });
}

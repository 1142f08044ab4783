/**
 * Holding a resource back until checks pass, without making anything unknown: how the grant waits for the delivery's
 * checks (`grant.ts`), so that a delivery that cannot work stops the run before anything is created.
 */
import type * as pulumi from "@pulumi/pulumi";

/**
 * The options that register a resource only once `after` resolves, and not at all when it fails. An explicit
 * dependency on an output rather than a value waiting on it: the engine gets the same inputs either way, and in a
 * preview an unknown `after` (a check that cannot run before something is created) holds nothing back and changes
 * nothing. The resources `after` carries, if any, become dependencies of the held resource.
 */
export function heldUntil(after: pulumi.Output<unknown> | undefined): pulumi.CustomResourceOptions {
    return after === undefined ? {} : { dependsOn: after.apply(() => []) };
}

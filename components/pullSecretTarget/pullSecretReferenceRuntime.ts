/**
 * Sends what `pullSecretReference.ts` plans, with the official Kubernetes client (`@kubernetes/client-node`), which
 * this module loads only when a client is made: never at program start-up.
 *
 * Every write is a guarded RFC 6902 JSON Patch. When the guard fails (422: the list changed since it was read; 409:
 * the object did), the service account is read again and the write planned again, a bounded number of times. What a
 * guard can lose to is another writer landing between our read and our patch, so that window is kept short: one
 * client per kubeconfig and process, all of its requests on one kept-alive connection (the API server speaks
 * HTTP/2, so they share it without queueing), and a retry that reads again at once. The kubeconfig only ever
 * reaches `KubeConfig.loadFromString`; no message here carries it.
 */
import type { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import {
    REFERENCE_FIELD_MANAGER,
    applyOwnedMessage,
    blockingApplyOwners,
    formerPatchOwners,
    interruptedTakeOver,
    planAdd,
    planRemove,
    planTakeOver,
    type JsonPatchOperation,
    type ServiceAccountView,
} from "./pullSecretReference";

/** Which entry, where. */
export interface ReferenceTarget {
    readonly namespace: string;
    readonly serviceAccount: string;
    readonly secretName: string;
}

export interface ReferenceWriteOptions {
    /** Reads and guarded writes before giving up on a list that keeps changing. Default `DEFAULT_ATTEMPTS`. */
    readonly maxAttempts?: number;
    /** Send the write as a server-side dry run (previews): the API server checks it and stores nothing. */
    readonly dryRun?: boolean;
}

export type PullSecretReferenceErrorCode = "ServiceAccountNotFound" | "ApplyOwned" | "Contended" | "Forbidden" | "RequestFailed";

/** A failure naming the service account and what to do; never a credential. */
export class PullSecretReferenceError extends Error {
    constructor(
        readonly code: PullSecretReferenceErrorCode,
        message: string,
        readonly statusCode?: number,
    ) {
        super(message);
        this.name = "PullSecretReferenceError";
    }
}

/**
 * Reads and guarded writes per change before giving up. A writer that rewrites the same service account every 50 ms
 * wins a race only while our read is on its way back and our patch on its way out, a few milliseconds on a kept-alive
 * connection: each attempt then succeeds far more often than not, and this many in a row all failing means a writer
 * that never pauses.
 */
export const DEFAULT_ATTEMPTS = 30;

/** One client per kubeconfig for the life of the process (the program, or the provider host). */
const clients = new Map<string, CoreV1Api>();

/** The undici dispatcher a request goes out on (`RequestContext.getDispatcher` of the client's own types). */
type Dispatcher = ReturnType<Parameters<KubeConfig["applySecurityAuthentication"]>[0]["getDispatcher"]>;

/**
 * A CoreV1 client for the cluster the kubeconfig names (its current context), not the ambient one; the same client
 * for every call with the same kubeconfig in this process.
 *
 * The client makes a new dispatcher for every request, and with it a new TLS connection (tens of milliseconds
 * between a read and the patch that depends on it). Here every request goes out on the first one, so the process
 * keeps one connection to the API server and each request after the first costs a round trip. Credentials are
 * still applied per request (an exec plugin's token is refreshed as before); only the connection is shared.
 */
export function coreV1Api(kubeconfig: string): CoreV1Api {
    const known = clients.get(kubeconfig);
    if (known !== undefined) return known;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const k8s = require("@kubernetes/client-node") as typeof import("@kubernetes/client-node");
    const config = new k8s.KubeConfig();
    config.loadFromString(kubeconfig);
    const authenticate = config.applySecurityAuthentication.bind(config);
    let shared: Dispatcher;
    config.applySecurityAuthentication = async (context) => {
        await authenticate(context);
        shared ??= context.getDispatcher();
        if (shared !== undefined) context.setDispatcher(shared);
    };
    const api = config.makeApiClient(k8s.CoreV1Api);
    clients.set(kubeconfig, api);
    return api;
}

/** The HTTP status of a client error, or undefined for anything else. */
export function statusOf(error: unknown): number | undefined {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === "number" ? code : undefined;
}

/** The API server's own reason (its Status message), which names the user and verb of a refusal. */
export function reasonOf(error: unknown): string {
    const body = (error as { body?: unknown } | null)?.body;
    if (typeof body === "string") {
        try {
            const parsed = JSON.parse(body) as { message?: string };
            if (parsed.message) return parsed.message;
        } catch {
            return body.slice(0, 500);
        }
    }
    if (typeof body === "object" && body !== null && typeof (body as { message?: unknown }).message === "string") {
        return (body as { message: string }).message;
    }
    return error instanceof Error ? error.message : String(error);
}

function describe(target: ReferenceTarget): string {
    return `service account ${target.namespace}/${target.serviceAccount}`;
}

/** Why a service account that does not exist stops the delivery, and what to do. */
export function notFoundMessage(target: ReferenceTarget): string {
    return `${describe(target)} does not exist; create it (or leave it out of pullSecretServiceAccounts) and run again.`;
}

function failure(target: ReferenceTarget, action: string, error: unknown): PullSecretReferenceError {
    const status = statusOf(error);
    const reason = reasonOf(error);
    if (status === 403) {
        return new PullSecretReferenceError("Forbidden", `Cannot ${action} ${describe(target)}: ${reason}`, status);
    }
    return new PullSecretReferenceError("RequestFailed", `Cannot ${action} ${describe(target)} (HTTP ${status ?? "?"}): ${reason}`, status);
}

/** Reads the service account; undefined when it does not exist. */
export async function readServiceAccount(api: CoreV1Api, target: ReferenceTarget): Promise<ServiceAccountView | undefined> {
    try {
        return await api.readNamespacedServiceAccount({ name: target.serviceAccount, namespace: target.namespace });
    } catch (error) {
        if (statusOf(error) === 404) return undefined;
        throw failure(target, "read", error);
    }
}

/**
 * Stops when another server-side-apply manager owns the list (see `applyOwnedMessage`); an earlier version's own
 * patch does not stop us (`formerPatchOwners`).
 */
export function assertShareable(live: ServiceAccountView, target: ReferenceTarget): void {
    const owners = blockingApplyOwners(live, target.secretName);
    if (owners.length > 0) {
        throw new PullSecretReferenceError(
            "ApplyOwned",
            applyOwnedMessage(target.namespace, target.serviceAccount, target.secretName, owners),
        );
    }
}

/**
 * A retry after a lost race. The first is immediate: the other writer has just written, so the next read is the
 * freshest there is. Later ones wait a little, growing and jittered so that two writers do not collide in step, and
 * never long, because a periodic writer leaves the same short gaps whatever we wait.
 */
function pause(attempt: number): Promise<void> {
    if (attempt <= 1) return Promise.resolve();
    const ms = Math.min(250, 5 * 2 ** attempt) * (0.5 + Math.random());
    return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Sends one guarded JSON patch as a plain update (the client's default patch type for this call). */
async function sendPatch(
    api: CoreV1Api,
    target: ReferenceTarget,
    operations: readonly JsonPatchOperation[],
    options: ReferenceWriteOptions,
): Promise<void> {
    await api.patchNamespacedServiceAccount({
        name: target.serviceAccount,
        namespace: target.namespace,
        body: operations,
        fieldManager: REFERENCE_FIELD_MANAGER,
        dryRun: options.dryRun ? "All" : undefined,
    });
}

/** Outcome of `addReference`. */
export interface AddResult {
    /**
     * True when this call added the entry, or took it over from an earlier version's patch; false when it was
     * already listed by someone else (adopted: never removed by us).
     */
    readonly added: boolean;
}

/**
 * For an entry already listed: finishes or performs a take-over from an earlier version's patch (true), or
 * leaves the list as it is (false: adopted).
 */
async function takeOverIfFormerPatch(
    api: CoreV1Api,
    target: ReferenceTarget,
    live: ServiceAccountView,
    options: ReferenceWriteOptions,
): Promise<boolean> {
    const resume = interruptedTakeOver(live, target.secretName);
    if (resume !== undefined) {
        await sendPatch(api, target, resume, options);
        return true;
    }
    if (formerPatchOwners(live, target.secretName).length === 0) return false;
    const [append, removeCopy] = planTakeOver(live, target.secretName);
    await sendPatch(api, target, append, options);
    // A dry run stores nothing, so the second write's test would fail against the unchanged list.
    if (!options.dryRun) await sendPatch(api, target, removeCopy, options);
    return true;
}

/**
 * Adds `{name: secretName}` to the service account's list, keeping every other entry; adopts an entry already
 * there, whoever owns the list. Fails naming the service account when it does not exist, when server-side apply
 * owns a list that lacks our entry, or when the list keeps changing under us.
 */
export async function addReference(api: CoreV1Api, target: ReferenceTarget, options: ReferenceWriteOptions = {}): Promise<AddResult> {
    const attempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        const live = await readServiceAccount(api, target);
        if (live === undefined) {
            throw new PullSecretReferenceError("ServiceAccountNotFound", notFoundMessage(target), 404);
        }
        const plan = planAdd(live, target.secretName);
        try {
            if (plan.kind === "present") {
                // Listed already, even in a list another tool applies (the way out the refusal names): nothing to
                // write, unless it is the list an earlier version of this delivery applied.
                return { added: await takeOverIfFormerPatch(api, target, live, options) };
            }
            assertShareable(live, target);
            await sendPatch(api, target, plan.operations, options);
            return { added: true };
        } catch (error) {
            if (error instanceof PullSecretReferenceError) throw error;
            const status = statusOf(error);
            if (status !== 422 && status !== 409) throw failure(target, "add the image pull secret to", error);
            await pause(attempt);
        }
    }
    throw new PullSecretReferenceError(
        "Contended",
        `The imagePullSecrets of ${describe(target)} changed on each of ${attempts} attempts to add "${target.secretName}"; another writer keeps rewriting it. Nothing was lost; run again.`,
    );
}

/**
 * Removes our entry and nothing else. An entry or a service account already gone counts as done; an entry that
 * moved is found again.
 */
export async function removeReference(api: CoreV1Api, target: ReferenceTarget, options: ReferenceWriteOptions = {}): Promise<void> {
    const attempts = options.maxAttempts ?? DEFAULT_ATTEMPTS;
    for (let attempt = 1; attempt <= attempts; attempt++) {
        const live = await readServiceAccount(api, target);
        if (live === undefined) return;
        const plan = planRemove(live, target.secretName);
        if (plan.kind === "absent") return;
        try {
            await sendPatch(api, target, plan.operations, options);
            return;
        } catch (error) {
            const status = statusOf(error);
            if (status === 404) return;
            if (status !== 422 && status !== 409) throw failure(target, "remove the image pull secret from", error);
            await pause(attempt);
        }
    }
    throw new PullSecretReferenceError(
        "Contended",
        `The imagePullSecrets of ${describe(target)} changed on each of ${attempts} attempts to remove "${target.secretName}"; another writer keeps rewriting it. Run again.`,
    );
}

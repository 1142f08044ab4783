/**
 * What the image pull secret delivery reads before it declares anything in a namespace: the namespace, and each
 * listed service account with its `imagePullSecrets` and `managedFields`, read by the program itself through the
 * cluster's kubeconfig (the same client and connection the references use).
 *
 * Not through `Namespace.get` / `ServiceAccount.get`: in a preview, an output a read does not return resolves as
 * unknown in the Node SDK, so the `imagePullSecrets` of a service account that has none (the usual `default`) was
 * unknown, and everything computed from it (whether to refuse, the Secret's data, the references' inputs) with it.
 * What the API server answers here is a plain object: no list is a known "none". It also keeps hundreds of read
 * steps, and their objects, out of the engine and the state.
 */
import type { CoreV1Api } from "@kubernetes/client-node";
import { applyOwnedMessage, blockingApplyOwners, isListed, type ServiceAccountView } from "./pullSecretReference";
import { coreV1Api, notFoundMessage, readServiceAccount, reasonOf, statusOf } from "./pullSecretReferenceRuntime";

/** What the reads of one namespace found. */
export interface NamespaceFindings {
    /** Objects that do not exist (the namespace, or service accounts), each as a message naming it. */
    readonly missing: readonly string[];
    /** Everything else that stops the delivery there: a list another tool applies, a read that failed. */
    readonly refusals: readonly string[];
    /** Whether our entry is listed, per service account read. */
    readonly listed: Readonly<Record<string, boolean>>;
}

/** What one read found: nothing wrong, an object missing, or something else that stops the delivery. */
interface Finding {
    readonly missing?: string;
    readonly refusal?: string;
    /** For a service account read: whether our entry is listed. */
    readonly listed?: boolean;
}

/** Reads in flight at once per program: on one HTTP/2 connection they overlap their round trips; few enough for any API server's limits. */
const CONCURRENT_READS = 32;

/** Runs at most `limit` tasks at once, in the order they were given. */
export function concurrencyLimit(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
    let running = 0;
    const waiting: (() => void)[] = [];
    return async <T>(task: () => Promise<T>): Promise<T> => {
        if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
        running++;
        try {
            return await task();
        } finally {
            running--;
            waiting.shift()?.();
        }
    };
}

/** One limit for every delivery of the program, as they share the connection. */
const limit = concurrencyLimit(CONCURRENT_READS);

/**
 * The message that stops the delivery for a service account as read, or undefined when our entry can be added (or
 * is there already).
 */
export function unshareableMessage(
    namespace: string,
    serviceAccount: string,
    secretName: string,
    live: ServiceAccountView,
): string | undefined {
    if (isListed(live, secretName)) return undefined;
    const owners = blockingApplyOwners(live, secretName);
    return owners.length === 0 ? undefined : applyOwnedMessage(namespace, serviceAccount, secretName, owners);
}

/** Why a namespace that does not exist stops the delivery, and what to do. */
export function namespaceNotFoundMessage(namespace: string): string {
    return `namespace ${namespace} does not exist; create it (or leave it out of pullSecretNamespaces) and run again.`;
}

/** Reads the namespace: nothing wrong, missing, or a failure naming it and the API server's reason. */
async function readNamespace(api: CoreV1Api, namespace: string): Promise<Finding> {
    try {
        await api.readNamespace({ name: namespace });
        return {};
    } catch (error) {
        if (statusOf(error) === 404) return { missing: namespaceNotFoundMessage(namespace) };
        return { refusal: `Cannot read namespace ${namespace} (HTTP ${statusOf(error) ?? "?"}): ${reasonOf(error)}` };
    }
}

/**
 * Reads the namespace and each of `serviceAccounts` in it, and says what stops the delivery there. Never throws:
 * a failed read is a refusal naming what it read.
 */
export async function readNamespaceTargets(
    kubeconfig: string,
    namespace: string,
    serviceAccounts: readonly string[],
    secretName: string,
): Promise<NamespaceFindings> {
    const api = coreV1Api(kubeconfig);
    const failed = (error: unknown): string => (error instanceof Error ? error.message : String(error));
    // Every read at once (within the limit); the findings in the order the namespace and accounts were given.
    const [namespaceFound, ...accountsFound] = await Promise.all([
        limit(() => readNamespace(api, namespace)),
        ...serviceAccounts.map((account) => {
            const target = { namespace, serviceAccount: account, secretName };
            return limit(() => readServiceAccount(api, target)).then(
                (live): Finding => {
                    if (live === undefined) return { missing: notFoundMessage(target) };
                    const message = unshareableMessage(namespace, account, secretName, live);
                    return message === undefined ? { listed: isListed(live, secretName) } : { refusal: message };
                },
                (error: unknown): Finding => ({ refusal: failed(error) }),
            );
        }),
    ]);
    // A namespace that is missing makes its service accounts missing too: name the namespace alone.
    const found = namespaceFound.missing === undefined ? [namespaceFound, ...accountsFound] : [namespaceFound];
    return {
        missing: found.flatMap((finding) => (finding.missing === undefined ? [] : [finding.missing])),
        refusals: found.flatMap((finding) => (finding.refusal === undefined ? [] : [finding.refusal])),
        listed: Object.fromEntries(
            serviceAccounts.flatMap((account, index) => {
                const listed = accountsFound[index].listed;
                return listed === undefined ? [] : [[account, listed]];
            }),
        ),
    };
}

/** How long `up` waits for objects to appear after the resources that create them exist. */
export const APPEARANCE_WAIT_MS = 30_000;

/**
 * `readNamespaceTargets`, read again while something is missing, for up to `waitMs`: for a namespace this stack
 * has just created, whose `default` service account the cluster's controller manager adds a moment later.
 */
export async function readNamespaceTargetsOnceCreated(
    kubeconfig: string,
    namespace: string,
    serviceAccounts: readonly string[],
    secretName: string,
    waitMs: number,
): Promise<NamespaceFindings> {
    const deadline = Date.now() + waitMs;
    for (;;) {
        const found = await readNamespaceTargets(kubeconfig, namespace, serviceAccounts, secretName);
        if (found.missing.length === 0 || found.refusals.length > 0 || Date.now() >= deadline) return found;
        await new Promise((resolve) => setTimeout(resolve, 250));
    }
}

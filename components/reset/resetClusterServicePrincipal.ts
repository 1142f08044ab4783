/**
 * This module runs inside the cluster binding's dynamic provider, where it is shipped as its own source text (see
 * `runtimeSource.ts`): it may import only the runtime modules shipped before it, packages and Node built-ins.
 *
 * Switches an existing AKS cluster to a service principal's credentials through the ARM
 * long-running action `managedClusters/resetServicePrincipalProfile` (what
 * `az aks update-credentials --reset-service-principal` calls), and reads back which client id a
 * cluster really uses.
 *
 * A service principal is needed because the cluster must pull from a registry in another
 * Microsoft Entra tenant: a multi-tenant app registration can be granted AcrPull there, a managed
 * identity cannot.
 */
import type { TokenCredential } from "@azure/core-auth";
// Type-only: the SDK itself is loaded on first use so that program start-up does not pay for it.
import type { ContainerServiceClient, ManagedCluster } from "@azure/arm-containerservice";
import { ARM_ENDPOINTS } from "./clouds";
import { clusterIdentity, type ClusterIdentity } from "./clusterIdentity";

export { ARM_ENDPOINTS };

/** The AKS cluster to act on. */
export interface ClusterTarget {
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly clusterName: string;
}

/** The service principal the cluster should use from now on. `secret` is never logged or put in an error. */
export interface ServicePrincipalCredentials {
    readonly clientId: string;
    readonly secret: string;
}

/** How to reach Azure Resource Manager. */
export interface ArmConnection {
    /**
     * ARM endpoint, e.g. https://management.azure.com (public), https://management.usgovcloudapi.net,
     * https://management.chinacloudapi.cn (see {@link ARM_ENDPOINTS}). Token scope is `${endpoint}/.default`.
     */
    readonly endpoint: string;
    /** Credential for the tenant that owns the cluster's subscription. */
    readonly credential: TokenCredential;
    /**
     * Microsoft Entra tenant of the cluster, where AKS looks the service principal up. Only named in messages, so
     * that a principal AKS never finds points at the tenant to check.
     */
    readonly tenantId?: string;
    /** Delay between polls of the long-running operation, and base of the retry backoff. Default 15000. */
    readonly pollIntervalMs?: number;
    /** Overall deadline for the whole call, retries included. Default 60 minutes. */
    readonly timeoutMs?: number;
    /** Receives progress lines (with elapsed time). Never given the secret. */
    readonly log?: (message: string) => void;
}

/** Machine-readable reason carried by {@link ClusterCredentialError.code}. */
export type ClusterCredentialErrorCode =
    | "ManagedIdentityCluster"
    | "ClusterNotFound"
    | "AuthorizationFailed"
    | "OperationFailed"
    | "Timeout"
    /** AKS kept refusing the new principal or secret as unknown until the deadline: Entra ID had not replicated it. */
    | "ReplicationTimeout"
    | "UnknownClusterIdentity"
    | "InvalidArgument"
    | "RequestFailed";

/**
 * The only error type thrown by this module. Its message is built from Azure's error code and
 * message (never from the SDK's error object, whose request holds the secret) and has every
 * occurrence of the secret replaced.
 */
export class ClusterCredentialError extends Error {
    /** Why it failed; see {@link ClusterCredentialErrorCode}. */
    readonly code: ClusterCredentialErrorCode;
    /** Azure's own error code (e.g. `AuthorizationFailed`, `ResourceNotFound`), when Azure sent one. */
    readonly azureCode?: string;
    /** HTTP status of the failing response, when there was one. */
    readonly statusCode?: number;

    /** @param details Azure's error code and the HTTP status, when known. */
    constructor(code: ClusterCredentialErrorCode, message: string, details: { azureCode?: string; statusCode?: number } = {}) {
        super(message);
        // Pulumi's closure serializer (the binding's dynamic provider carries this module) emits this class as a
        // plain function whose `super(message)` becomes `Error.call(this, message)`, which sets nothing on `this`.
        this.message = message;
        if (this.stack === undefined) Error.captureStackTrace(this, ClusterCredentialError);
        this.name = "ClusterCredentialError";
        this.code = code;
        if (details.azureCode !== undefined) this.azureCode = details.azureCode;
        if (details.statusCode !== undefined) this.statusCode = details.statusCode;
    }
}
// On the prototype, as built-in errors have it. It also makes the closure serializer keep the chain to
// Error.prototype: it drops a class prototype whose only own property is `constructor`.
Object.defineProperty(ClusterCredentialError.prototype, "name", { value: "ClusterCredentialError", writable: true, configurable: true });

const DEFAULT_POLL_INTERVAL_MS = 15_000;
const DEFAULT_TIMEOUT_MS = 60 * 60_000;
// Long enough for ARM throttling windows and AKS operations to move on, short enough to notice them ending.
const MAX_BACKOFF_MS = 120_000;
const SDK_MAX_RETRIES = 3;
const SDK_MAX_RETRY_DELAY_MS = 60_000;

const READ_PERMISSION = "Microsoft.ContainerService/managedClusters/read";
const RESET_PERMISSION = "Microsoft.ContainerService/managedClusters/resetServicePrincipalProfile/action";
const RESET_ROLES = `the "Contributor" or "Azure Kubernetes Service Contributor Role" role`;

/**
 * Switches a service-principal AKS cluster to `profile` and waits for Azure to finish.
 *
 * Reads the cluster first and refuses managed-identity clusters before sending anything that
 * changes them. Retries throttling (429, honouring Retry-After), transient 5xx / network errors and
 * "another operation is in progress" conflicts with capped exponential backoff, all within
 * `timeoutMs`. When AKS refuses the principal or its secret as not known yet (see
 * {@link entraReplicationRefusal}), on the request or as the failure of the operation, it waits for
 * Entra ID to replicate and sends the reset again, within the same deadline.
 *
 * @returns the client id the cluster used before the reset.
 * @throws {ClusterCredentialError} on every failure; code `ReplicationTimeout` when AKS still
 * refused the principal or secret as unknown at the deadline.
 */
export async function resetClusterServicePrincipal(
    target: ClusterTarget,
    profile: ServicePrincipalCredentials,
    connection: ArmConnection,
): Promise<{ previousClientId: string }> {
    requireText("profile.clientId", profile?.clientId);
    requireText("profile.secret", profile?.secret);
    const purpose: Purpose = {
        verb: "reset the service principal of",
        permission: `${READ_PERMISSION} and ${RESET_PERMISSION}`,
        roles: RESET_ROLES,
    };
    return withRun(target, connection, profile.secret, async (run, client) => {
        const cluster = await readCluster(run, client, purpose);
        const identity = identityOf(cluster);
        if (identity.kind === "managedIdentity") throw managedIdentityError(run, identity.detail);
        if (identity.kind === "unknown") throw unknownIdentityError(run);
        const previousClientId = identity.clientId;
        run.log(`AKS cluster ${run.name} uses service principal ${previousClientId}; asking Azure to switch it to ${profile.clientId}`);

        // A principal or secret created moments ago by the same deployment may not have reached the directory AKS
        // validates against; AKS then refuses it as unknown. Azure CLI retries these refusals too.
        let refusals: Refusals | undefined;
        for (let attempt = 1; ; attempt++) {
            const attemptStartedAt = Date.now();
            let refused: RefusedReset | undefined;
            try {
                refused = await resetOnce(run, client, purpose, profile);
            } catch (err) {
                // The deadline cut off the attempt after refusals. Even an accepted one proves nothing yet (AKS validates
                // the credentials inside the operation too), so the refusals remain the story; the cut-off is appended.
                if (refusals && err instanceof ClusterCredentialError && err.code === "Timeout") {
                    throw replicationTimeoutError(run, profile.clientId, refusals, err.message);
                }
                throw err;
            }
            if (!refused) break;
            refusals = { firstAt: refusals?.firstAt ?? attemptStartedAt, attempts: attempt, last: refused };
            await waitForReplication(run, profile.clientId, refusals, Date.now() - attemptStartedAt);
        }
        run.log(`Reset of ${run.name} finished: the cluster now uses service principal ${profile.clientId}`);
        return { previousClientId };
    });
}

/**
 * How AKS refused a service principal it does not know yet, as {@link entraReplicationRefusal} reads Azure's error.
 */
export interface ReplicationRefusal {
    /**
     * `principalNotFound`: AKS or Entra ID does not find the application or its service principal in the tenant;
     * `secretRejected`: Entra ID rejects the client secret; `credentialsInvalid`: AKS says the credentials are
     * invalid without saying which part.
     */
    readonly kind: "principalNotFound" | "secretRejected" | "credentialsInvalid";
    /** A short reason for progress lines: what was refused, with Azure's code and the AADSTS code when present. */
    readonly reason: string;
}

/**
 * Whether an Azure error on the reset (the request's error envelope, or the error of the failed operation) means
 * that the service principal or its secret is not known yet where AKS validates it: what Entra ID replication looks
 * like for a principal or password created moments ago. Needs both one of the codes AKS uses for such refusals and
 * one of their wordings (or one of the AADSTS codes of an unknown application or secret); a sign-in error with any
 * other AADSTS code (an expired secret, say) is not replication. Pure: no I/O, no clock.
 *
 * @param error Azure's `code` and `message`.
 * @returns the refusal, or undefined when the error is something else.
 */
export function entraReplicationRefusal(error: { readonly code?: string; readonly message?: string }): ReplicationRefusal | undefined {
    const code = error.code?.trim() ?? "";
    const message = error.message ?? "";
    if (!REPLICATION_ERROR_CODES.some((known) => known.toLowerCase() === code.toLowerCase())) return undefined;
    const because = (what: string, aadsts?: string): string => `${what} (${aadsts ? `${code}, ${aadsts}` : code})`;
    // Entra's own verdict, when AKS passes it on, is more precise than AKS's wording around it.
    const aadsts = /\bAADSTS(\d+)\b/.exec(message);
    if (aadsts) {
        const known = REPLICATION_AADSTS_CODES.find((entry) => entry.number === aadsts[1]);
        return known ? { kind: known.kind, reason: because(known.what, `AADSTS${known.number}`) } : undefined;
    }
    const wording = REPLICATION_WORDINGS.find((entry) => entry.pattern.test(message));
    return wording ? { kind: wording.kind, reason: because(wording.what) } : undefined;
}

// Arrays of plain objects and regex literals, not a Set or Map: Pulumi's closure serializer (this module travels inside
// the binding's dynamic provider) copies those as plain objects whose methods then throw.
// Codes AKS was seen to answer with: ServicePrincipalNotFound (also as HTTP 404), BadRequest and InvalidParameter around
// the wordings below, ServicePrincipalValidationClientError for a failed operation; InvalidServicePrincipalCredential(s)
// as other Azure container services spell it.
const REPLICATION_ERROR_CODES: readonly string[] = [
    "ServicePrincipalNotFound",
    "ServicePrincipalValidationClientError",
    "InvalidServicePrincipalCredential",
    "InvalidServicePrincipalCredentials",
    "BadRequest",
    "InvalidParameter",
];

const REPLICATION_AADSTS_CODES: readonly { readonly number: string; readonly kind: ReplicationRefusal["kind"]; readonly what: string }[] = [
    { number: "7000215", kind: "secretRejected", what: "Entra ID rejects the client secret" },
    { number: "700016", kind: "principalNotFound", what: "Entra ID does not find the application in the tenant" },
    { number: "7000229", kind: "principalNotFound", what: "the tenant has no service principal for the application" },
];

const REPLICATION_WORDINGS: readonly { readonly pattern: RegExp; readonly kind: ReplicationRefusal["kind"]; readonly what: string }[] = [
    {
        // "Service principal clientID: <id> not found in Active Directory tenant <tenant>, Please see https://aka.ms/aks-sp-help ..."
        pattern: /not found in (?:the )?(?:Azure )?(?:Active Directory|Microsoft Entra(?: ID)?|Entra ID|AAD) (?:tenant|directory)/i,
        kind: "principalNotFound",
        what: "AKS does not find the service principal in the tenant",
    },
    { pattern: /was not found in the directory/i, kind: "principalNotFound", what: "Entra ID does not find the application in the tenant" },
    {
        // "The credentials in ServicePrincipalProfile were invalid. Please see https://aka.ms/aks-sp-help ..."
        pattern: /credentials in (?:the )?ServicePrincipalProfile (?:were|are) invalid/i,
        kind: "credentialsInvalid",
        what: "AKS finds the credentials invalid",
    },
    { pattern: /invalid client secret (?:is )?provided/i, kind: "secretRejected", what: "Entra ID rejects the client secret" },
];

/** A reset AKS refused because the principal or secret is not known yet. */
interface RefusedReset extends ReplicationRefusal {
    /** Where the refusal came: on the request or as the failure of the accepted operation. */
    readonly where: string;
    /** Azure's code and message (`<code>: <message>`), redacted, for the final error. */
    readonly azure: string;
    readonly azureCode?: string;
    readonly statusCode?: number;
}

/** The refusals so far of one reset. */
interface Refusals {
    /** When the first refused attempt started. */
    readonly firstAt: number;
    /** Attempts made, all refused. */
    readonly attempts: number;
    readonly last: RefusedReset;
}

/**
 * Sends the reset once and waits for its operation. Retries what withRetries retries; returns the refusal when AKS
 * refuses the principal or secret as not known yet, and undefined once the cluster uses them.
 */
async function resetOnce(
    run: Run,
    client: ContainerServiceClient,
    purpose: Purpose,
    profile: ServicePrincipalCredentials,
): Promise<RefusedReset | undefined> {
    run.lastStatus = undefined;
    const parameters = { clientId: profile.clientId, secret: profile.secret };
    // Wrapped in an object: the poller is a thenable, and returning it bare from an async
    // function would wait for the whole operation inside the retry loop.
    const submitted = await withRetries(run, "submit", purpose, "Reset request", async () => {
        run.resetSent = true;
        const started = client.managedClusters.resetServicePrincipalProfile(
            run.target.resourceGroupName,
            run.target.clusterName,
            parameters,
            { abortSignal: run.signal, updateIntervalInMs: run.pollIntervalMs },
        );
        try {
            await started.submitted();
        } catch (err) {
            // A 4xx means Azure refused the request; anything else may have been accepted.
            const rest = asRestError(err);
            const status = rest?.statusCode;
            if (status !== undefined && status >= 400 && status < 500) run.resetSent = false;
            // AKS answers 400, and was seen answering 404 ServicePrincipalNotFound, for a principal it cannot find.
            const refusal = rest && (status === 400 || status === 404) ? entraReplicationRefusal(rest) : undefined;
            if (rest && refusal) {
                const refused: RefusedReset = {
                    ...refusal,
                    where: `HTTP ${status} on the reset request`,
                    azure: run.redact(`${rest.code ?? "no code"}: ${rest.message}`),
                    ...(rest.code !== undefined ? { azureCode: rest.code } : {}),
                    ...(status !== undefined ? { statusCode: status } : {}),
                };
                return { refused };
            }
            throw err;
        }
        return { poller: started };
    });
    if ("refused" in submitted) return submitted.refused;
    const { poller } = submitted;
    run.log(`Reset of ${run.name} accepted by Azure; polling every ${formatDuration(run.pollIntervalMs)}`);

    poller.onProgress((state) => {
        run.lastStatus = state.status;
        run.log(`Reset of ${run.name}: operation ${state.status}`);
    });
    try {
        await poller.pollUntilDone({ abortSignal: run.signal });
    } catch (err) {
        // ARM's async contract lets the Location URL of an action without a result answer 204 when
        // done; the SDK accepts only 200/201/202 there and would report a finished reset as failed.
        if (isNoContentCompletion(err)) return undefined;
        const failed = run.signal.aborted || isAbortError(err) ? undefined : operationFailure(err);
        const refusal = failed ? entraReplicationRefusal({ code: failed.azureCode, message: failed.azureMessage }) : undefined;
        if (failed && refusal) {
            // The operation is over: nothing of this attempt is still pending in Azure.
            run.resetSent = false;
            return {
                ...refusal,
                where: "the accepted reset operation failed",
                azure: run.redact(`${failed.azureCode ?? "no code"}: ${failed.azureMessage ?? ""}`),
                ...(failed.azureCode !== undefined ? { azureCode: failed.azureCode } : {}),
            };
        }
        throw lroError(run, purpose, err);
    }
    return undefined;
}

// Entra ID usually catches up within seconds to a few minutes; trying more rarely than this would only delay the switch.
const REPLICATION_MAX_BACKOFF_MS = 60_000;

/**
 * Waits before the next reset attempt with capped exponential backoff, or throws ReplicationTimeout when the next
 * attempt could not finish before the deadline. The last wait is shortened so the whole time granted is used.
 */
async function waitForReplication(run: Run, clientId: string, refusals: Refusals, lastAttemptMs: number): Promise<void> {
    const backoff = backoffMs(refusals.attempts - 1, run.pollIntervalMs, REPLICATION_MAX_BACKOFF_MS);
    // Leave room for one more attempt (twice as long as the last, at least a poll interval) so the deadline rarely
    // cuts it off; if it does, the caller still reports the refusals.
    const room = run.deadline - Date.now() - Math.max(2 * lastAttemptMs, run.pollIntervalMs);
    if (room <= 0) throw replicationTimeoutError(run, clientId, refusals);
    const delayMs = Math.min(backoff, room);
    run.log(
        `Waiting for Entra ID to replicate application ${clientId}: ${refusals.last.reason}, ${refusals.last.where}; ` +
            `retrying the reset of ${run.name} in ${formatDuration(delayMs)} (attempt ${refusals.attempts + 1})`,
    );
    try {
        await sleep(delayMs, run.signal);
    } catch (err) {
        if (run.signal.aborted) throw replicationTimeoutError(run, clientId, refusals);
        throw err;
    }
}

function replicationTimeoutError(run: Run, clientId: string, refusals: Refusals, cutOff?: string): ClusterCredentialError {
    const { target, tenantId } = run;
    const tenant = tenantId ?? /Active Directory tenant ([^\s,]+)/i.exec(refusals.last.azure)?.[1];
    const inTenant = tenant ? `tenant ${tenant}` : "the cluster's tenant";
    const waited = formatDuration(Date.now() - refusals.firstAt);
    const tries = `${refusals.attempts} attempt${refusals.attempts === 1 ? "" : "s"}`;
    return failure(
        run,
        "ReplicationTimeout",
        `AKS cluster "${target.clusterName}" (resource group "${target.resourceGroupName}", subscription "${target.subscriptionId}") ` +
            `did not accept application (client id) ${clientId} of ${inTenant} before the deadline: waited ${waited} for Entra ID ` +
            `to replicate it over ${tries} (timeout ${formatDuration(run.timeoutMs)}). Last refusal: ${refusals.last.where}: ${refusals.last.azure}. ` +
            (cutOff ? `The attempt after it did not complete: ${cutOff} ` : "") +
            `A service principal or client secret created moments ago usually becomes known within minutes; ` +
            `a later \`pulumi up\` tries the reset again and continues where this one stopped. ` +
            `If it keeps failing, check: the secret's start and end dates (az ad app credential list --id ${clientId}: startDateTime must be past, endDateTime ahead); ` +
            `that the tenant is right and holds the application's service principal (az ad sp show --id ${clientId}, signed in to ${inTenant}); ` +
            `and that the application's sign-in audience is multitenant, AzureADMultipleOrgs (az ad app show --id ${clientId} --query signInAudience).`,
        {
            ...(refusals.last.azureCode !== undefined ? { azureCode: refusals.last.azureCode } : {}),
            ...(refusals.last.statusCode !== undefined ? { statusCode: refusals.last.statusCode } : {}),
        },
    );
}

/**
 * Reads which client id the cluster really uses, for `pulumi refresh`: the service principal's
 * client id, or `"msi"` for a managed-identity cluster.
 *
 * @throws {ClusterCredentialError} on every failure.
 */
export async function readClusterClientId(target: ClusterTarget, connection: ArmConnection): Promise<string> {
    const purpose: Purpose = { verb: "read", permission: READ_PERMISSION, roles: `the "Reader" role` };
    return withRun(target, connection, undefined, async (run, client) => {
        const identity = identityOf(await readCluster(run, client, purpose));
        if (identity.kind === "managedIdentity") return "msi";
        if (identity.kind === "unknown") throw unknownIdentityError(run);
        return identity.clientId;
    });
}

/** What the caller was trying to do, for authorization messages. */
interface Purpose {
    readonly verb: string;
    readonly permission: string;
    readonly roles: string;
}

type Phase = "read" | "submit" | "poll";

/** State of one call: deadline, logging and redaction. */
interface Run {
    readonly target: ClusterTarget;
    /** `resourceGroup/cluster`, for log lines. */
    readonly name: string;
    readonly endpoint: string;
    readonly signal: AbortSignal;
    readonly startedAt: number;
    readonly deadline: number;
    readonly timeoutMs: number;
    readonly pollIntervalMs: number;
    readonly redact: (text: string) => string;
    readonly log: (message: string) => void;
    /** Last status the long-running operation reported. */
    lastStatus?: string;
    /** Whether a reset request may have reached Azure, so a timeout must not claim nothing changed. */
    resetSent?: boolean;
    /** Tenant of the cluster, for messages; see {@link ArmConnection.tenantId}. */
    readonly tenantId?: string;
}

async function withRun<T>(
    target: ClusterTarget,
    connection: ArmConnection,
    secret: string | undefined,
    body: (run: Run, client: ContainerServiceClient) => Promise<T>,
): Promise<T> {
    requireText("target.subscriptionId", target?.subscriptionId);
    requireText("target.resourceGroupName", target?.resourceGroupName);
    requireText("target.clusterName", target?.clusterName);
    const endpoint = normalizeEndpoint(connection?.endpoint);
    if (!connection.credential || typeof connection.credential.getToken !== "function") {
        throw new ClusterCredentialError("InvalidArgument", "connection.credential must be a TokenCredential");
    }
    const pollIntervalMs = positiveNumber("connection.pollIntervalMs", connection.pollIntervalMs, DEFAULT_POLL_INTERVAL_MS);
    const timeoutMs = positiveNumber("connection.timeoutMs", connection.timeoutMs, DEFAULT_TIMEOUT_MS);
    // Only named in messages: a blank one must not stop a credential switch.
    const tenantId = typeof connection.tenantId === "string" && connection.tenantId.trim() !== "" ? connection.tenantId.trim() : undefined;

    const redact = redactor(secret);
    const startedAt = Date.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    const sink = connection.log;
    const run: Run = {
        target,
        name: `${target.resourceGroupName}/${target.clusterName}`,
        endpoint,
        signal: controller.signal,
        startedAt,
        deadline: startedAt + timeoutMs,
        timeoutMs,
        pollIntervalMs,
        ...(tenantId !== undefined ? { tenantId } : {}),
        redact,
        log: (message) => {
            if (!sink) return;
            try {
                sink(redact(`${message} (elapsed ${formatDuration(Date.now() - startedAt)})`));
            } catch {
                // A failing logger must not abort a half-done credential switch.
            }
        },
    };
    try {
        const client = await createClient(target.subscriptionId, endpoint, connection.credential, pollIntervalMs, timeoutMs);
        return await body(run, client);
    } catch (err) {
        throw finalError(run, err);
    } finally {
        clearTimeout(timer);
    }
}

async function createClient(
    subscriptionId: string,
    endpoint: string,
    credential: TokenCredential,
    pollIntervalMs: number,
    timeoutMs: number,
): Promise<ContainerServiceClient> {
    const { ContainerServiceClient } = await import("@azure/arm-containerservice");
    return new ContainerServiceClient(credential, subscriptionId, {
        endpoint,
        // This SDK generation ignores `credentialScopes` and, without `credentials.scopes`, asks for
        // https://management.azure.com/.default whatever the endpoint: sovereign clouds would get a
        // token for the wrong audience.
        credentials: { scopes: [`${endpoint}/.default`] },
        // The SDK retries 5xx/408/network errors with exponential backoff and 429/503 that carry
        // Retry-After (waiting exactly that long, uncapped); its waits end when our abortSignal fires,
        // so the overall deadline bounds them. Its backoff starts no slower than our poll cadence;
        // what remains after its retries is retried by withRetries.
        retryOptions: {
            maxRetries: SDK_MAX_RETRIES,
            retryDelayInMs: Math.min(1000, pollIntervalMs),
            maxRetryDelayInMs: Math.min(SDK_MAX_RETRY_DELAY_MS, timeoutMs),
        },
    });
}

async function readCluster(run: Run, client: ContainerServiceClient, purpose: Purpose): Promise<ManagedCluster> {
    run.log(`Reading AKS cluster ${run.name} in subscription ${run.target.subscriptionId}`);
    return withRetries(run, "read", purpose, "Reading the cluster", () =>
        client.managedClusters.get(run.target.resourceGroupName, run.target.clusterName, { abortSignal: run.signal }),
    );
}

/** The identity of a cluster as the SDK returns it. */
function identityOf(cluster: ManagedCluster): ClusterIdentity {
    return clusterIdentity({
        servicePrincipalClientId: cluster.servicePrincipalProfile?.clientId,
        identityType: cluster.identity === undefined ? undefined : (cluster.identity.type ?? "set"),
    });
}

function managedIdentityError(run: Run, detail: string): ClusterCredentialError {
    return failure(
        run,
        "ManagedIdentityCluster",
        `AKS cluster "${run.target.clusterName}" (resource group "${run.target.resourceGroupName}", subscription "${run.target.subscriptionId}") ` +
            `uses a managed identity (${detail}). AKS cannot switch a managed-identity cluster back to a service principal, ` +
            `and a managed identity cannot be granted pull access to a registry in another Microsoft Entra tenant. ` +
            `Nothing was changed. Instead: create a new cluster that uses a service principal (az aks create --service-principal ... --client-secret ...), ` +
            `or use a container registry in the cluster's own tenant and copy the images into it (az acr import --source <other-tenant-registry>/<image> --username/--password or a token).`,
    );
}

function unknownIdentityError(run: Run): ClusterCredentialError {
    return failure(
        run,
        "UnknownClusterIdentity",
        `AKS cluster "${run.target.clusterName}" (resource group "${run.target.resourceGroupName}", subscription "${run.target.subscriptionId}") ` +
            `reports neither a service principal client id nor a managed identity; refusing to guess which credentials it uses.`,
    );
}

/**
 * Runs `attempt`, retrying throttling, transient failures and "operation in progress" conflicts
 * with capped exponential backoff until the deadline.
 */
async function withRetries<T>(run: Run, phase: Phase, purpose: Purpose, what: string, attempt: () => Promise<T>): Promise<T> {
    // The answer that made us wait: when the deadline cuts a wait or a request short, it still says why we waited.
    let lastRetried: RestErrorLike | undefined;
    const cutShort = (): ClusterCredentialError =>
        timeoutError(
            run,
            `${what} did not complete${lastRetried ? ` (Azure's last answer: ${describeAzureError(lastRetried, run)})` : ""}`,
        );
    for (let retry = 0; ; retry++) {
        try {
            return await attempt();
        } catch (err) {
            if (run.signal.aborted) throw cutShort();
            const rest = asRestError(err);
            const decision = rest ? retryDecision(rest, retry, run.pollIntervalMs) : undefined;
            if (!rest || !decision) throw httpError(run, phase, purpose, err);
            const remaining = run.deadline - Date.now();
            if (decision.delayMs >= remaining) {
                throw timeoutError(
                    run,
                    `${what} kept failing (${describeAzureError(rest, run)}) and the next attempt, in ${formatDuration(decision.delayMs)}, would pass the deadline`,
                );
            }
            run.log(`${what} for ${run.name}: ${decision.reason}; retrying in ${formatDuration(decision.delayMs)} (attempt ${retry + 2})`);
            lastRetried = rest;
            try {
                await sleep(decision.delayMs, run.signal);
            } catch {
                throw cutShort();
            }
        }
    }
}

function retryDecision(err: RestErrorLike, retry: number, baseMs: number): { delayMs: number; reason: string } | undefined {
    const status = err.statusCode;
    const backoff = backoffMs(retry, baseMs);
    if (status === 409 && isOperationInProgress(err)) {
        return { delayMs: backoff, reason: `another operation is in progress on the cluster (HTTP 409${err.code ? ` ${err.code}` : ""})` };
    }
    if (status === 429 || status === 408 || (status !== undefined && status >= 500 && status !== 501 && status !== 505)) {
        const retryAfter = retryAfterMs(err);
        return {
            delayMs: retryAfter ?? backoff,
            reason: `Azure answered HTTP ${status}${err.code ? ` ${err.code}` : ""}${retryAfter !== undefined ? " with Retry-After" : ""}`,
        };
    }
    if (status === undefined && err.code !== undefined && TRANSIENT_NETWORK_CODES.includes(err.code)) {
        return { delayMs: backoff, reason: `network error ${err.code}` };
    }
    return undefined;
}

// An array, not a Set: Pulumi's closure serializer (this module travels inside the binding's dynamic provider)
// copies a module-level Set as a plain object whose `has` then throws.
const TRANSIENT_NETWORK_CODES: readonly string[] = [
    "ECONNRESET",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "ESOCKETTIMEDOUT",
    "EPIPE",
    "EAI_AGAIN",
    "REQUEST_SEND_ERROR",
];

function isOperationInProgress(err: RestErrorLike): boolean {
    const code = (err.code ?? "").toLowerCase();
    if (code === "anotheroperationinprogress" || code === "operationinprogress") return true;
    const knownConflictCode = code === "operationnotallowed" || code === "conflict" || code === "";
    return knownConflictCode && /in progress|another operation/i.test(err.message);
}

function backoffMs(retry: number, baseMs: number, maxMs = MAX_BACKOFF_MS): number {
    const cap = Math.max(baseMs, maxMs);
    const exponential = Math.min(cap, baseMs * 2 ** Math.min(retry, 30));
    // Jitter keeps several deployments hitting the same cluster from retrying in lock-step.
    return Math.round(exponential * (0.8 + 0.2 * Math.random()));
}

function retryAfterMs(err: RestErrorLike): number | undefined {
    const headers = err.response?.headers;
    const inMs = headers?.get("retry-after-ms") ?? headers?.get("x-ms-retry-after-ms");
    if (inMs && /^\d+$/.test(inMs.trim())) return Number(inMs);
    const value = headers?.get("retry-after")?.trim();
    if (!value) return undefined;
    if (/^\d+$/.test(value)) return Number(value) * 1000;
    const date = Date.parse(value);
    return Number.isFinite(date) ? Math.max(0, date - Date.now()) : undefined;
}

/** Maps a failure of the long-running operation (after it was accepted). */
function lroError(run: Run, purpose: Purpose, err: unknown): ClusterCredentialError {
    if (err instanceof ClusterCredentialError) return err;
    if (run.signal.aborted || isAbortError(err)) {
        return timeoutError(run, `the reset was still ${run.lastStatus ?? "running"} when the deadline came`);
    }
    if (asRestError(err)) return httpError(run, "poll", purpose, err);
    const message = errorMessage(err);
    const failed = operationFailure(err);
    if (failed) {
        const { azureCode, azureMessage } = failed;
        return failure(
            run,
            "OperationFailed",
            `Azure reported that resetting the service principal of AKS cluster "${run.target.clusterName}" ` +
                `(resource group "${run.target.resourceGroupName}", subscription "${run.target.subscriptionId}") failed` +
                (azureCode ? `: ${azureCode}: ${azureMessage}` : " without an error code or message"),
            azureCode !== undefined ? { azureCode } : {},
        );
    }
    if (/canceled|cancelled/i.test(message)) {
        return failure(
            run,
            "OperationFailed",
            `Azure canceled the service principal reset of AKS cluster "${run.target.clusterName}" (resource group "${run.target.resourceGroupName}", subscription "${run.target.subscriptionId}")`,
            { azureCode: "Canceled" },
        );
    }
    return failure(
        run,
        "OperationFailed",
        `Waiting for the service principal reset of AKS cluster "${run.target.clusterName}" failed: ${message}`,
    );
}

/** Azure's code and message of an operation that ended Failed, or undefined when `err` is something else. */
function operationFailure(err: unknown): { azureCode?: string; azureMessage?: string } | undefined {
    if (asRestError(err)) return undefined;
    // core-lro reports a Failed status as a plain Error "The long-running operation has failed. <code>. <message>".
    const failed = /^The long-running operation has failed(?:\. ([^\s.]+)\. ([\s\S]*))?$/.exec(errorMessage(err));
    if (!failed) return undefined;
    return {
        ...(failed[1] !== undefined ? { azureCode: failed[1] } : {}),
        ...(failed[2] !== undefined ? { azureMessage: failed[2] } : {}),
    };
}

function isNoContentCompletion(err: unknown): boolean {
    return asRestError(err)?.statusCode === 204;
}

/** Maps an HTTP-level failure to a message that names the cluster and, for 401/403, the permission needed. */
function httpError(run: Run, phase: Phase, purpose: Purpose, err: unknown): ClusterCredentialError {
    if (err instanceof ClusterCredentialError) return err;
    if (run.signal.aborted || isAbortError(err)) return timeoutError(run, "the request did not complete");
    const rest = asRestError(err);
    if (!rest)
        return failure(run, "RequestFailed", `Could not ${purpose.verb} AKS cluster "${run.target.clusterName}": ${errorMessage(err)}`);
    const { target } = run;
    const where = `AKS cluster "${target.clusterName}" (resource group "${target.resourceGroupName}", subscription "${target.subscriptionId}")`;
    const azure = describeAzureError(rest, run);
    const details = {
        ...(rest.code !== undefined ? { azureCode: rest.code } : {}),
        ...(rest.statusCode !== undefined ? { statusCode: rest.statusCode } : {}),
    };
    switch (rest.statusCode) {
        case 404:
            if (phase === "poll") break;
            return failure(
                run,
                "ClusterNotFound",
                `AKS cluster "${target.clusterName}" was not found in resource group "${target.resourceGroupName}" of subscription "${target.subscriptionId}" at ${run.endpoint}. ` +
                    `Check the names and that the credential's tenant owns the subscription. Azure said: ${azure}`,
                details,
            );
        case 401:
            return failure(
                run,
                "AuthorizationFailed",
                `Azure Resource Manager rejected the credential (HTTP 401) while trying to ${purpose.verb} ${where}. ` +
                    `Use a credential from the tenant that owns the subscription, able to get tokens for "${run.endpoint}/.default"; ` +
                    `it also needs ${purpose.permission} on the cluster (e.g. ${purpose.roles}). Azure said: ${azure}`,
                details,
            );
        case 403:
            return failure(
                run,
                "AuthorizationFailed",
                `The caller is not allowed to ${purpose.verb} ${where} (HTTP 403). It needs ${purpose.permission} on the cluster, ` +
                    `e.g. through ${purpose.roles} assigned on the cluster, its resource group or subscription. Azure said: ${azure}`,
                details,
            );
        default:
            break;
    }
    const when = phase === "poll" ? "while waiting for Azure to reset the service principal of" : `trying to ${purpose.verb}`;
    return failure(run, "RequestFailed", `Request failed ${when} ${where}: ${azure}`, details);
}

function timeoutError(run: Run, what: string): ClusterCredentialError {
    const advice = run.resetSent
        ? ` Azure may still finish the reset; check with "az aks show -g ${run.target.resourceGroupName} -n ${run.target.clusterName} --query servicePrincipalProfile.clientId" before retrying.`
        : "";
    return failure(
        run,
        "Timeout",
        `Gave up on AKS cluster "${run.target.clusterName}" (resource group "${run.target.resourceGroupName}", subscription "${run.target.subscriptionId}") ` +
            `after ${formatDuration(Date.now() - run.startedAt)} (timeout ${formatDuration(run.timeoutMs)}): ${what}.${advice}`,
    );
}

/** Last line of defence: whatever escapes becomes a redacted ClusterCredentialError. */
function finalError(run: Run, err: unknown): ClusterCredentialError {
    if (err instanceof ClusterCredentialError) {
        const message = run.redact(err.message);
        if (message === err.message) return err;
        return new ClusterCredentialError(err.code, message, { azureCode: err.azureCode, statusCode: err.statusCode });
    }
    if (run.signal.aborted || isAbortError(err)) return timeoutError(run, "the operation did not complete");
    return failure(run, "RequestFailed", `Unexpected failure for AKS cluster "${run.target.clusterName}": ${errorMessage(err)}`);
}

function failure(
    run: Run,
    code: ClusterCredentialErrorCode,
    message: string,
    details: { azureCode?: string; statusCode?: number } = {},
): ClusterCredentialError {
    return new ClusterCredentialError(code, run.redact(message), {
        ...(details.azureCode !== undefined ? { azureCode: run.redact(details.azureCode) } : {}),
        ...(details.statusCode !== undefined ? { statusCode: details.statusCode } : {}),
    });
}

/** The parts of the SDK's RestError we read. Its `request` (which holds the secret) is never touched. */
interface RestErrorLike {
    readonly name: "RestError";
    readonly message: string;
    readonly code?: string;
    readonly statusCode?: number;
    readonly response?: { readonly headers: { get(name: string): string | undefined } };
}

function asRestError(err: unknown): RestErrorLike | undefined {
    if (typeof err !== "object" || err === null || (err as { name?: unknown }).name !== "RestError") return undefined;
    return err as RestErrorLike;
}

function describeAzureError(err: RestErrorLike, run: Run): string {
    const status = err.statusCode !== undefined ? `HTTP ${err.statusCode}` : "no response";
    return run.redact(`${status}${err.code ? ` ${err.code}` : ""}: ${err.message}`);
}

function isAbortError(err: unknown): boolean {
    return typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AbortError";
}

function errorMessage(err: unknown): string {
    if (err instanceof Error) return err.message;
    return String(err);
}

function redactor(secret: string | undefined): (text: string) => string {
    if (!secret) return (text) => text;
    // Also the forms the secret takes inside JSON and URLs, in case Azure echoes the request.
    const forms = [...new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])].sort(
        (a, b) => b.length - a.length,
    );
    return (text) => forms.reduce((out, form) => out.split(form).join("***"), text);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
        const abortError = (): Error => Object.assign(new Error("The operation was aborted."), { name: "AbortError" });
        if (signal.aborted) return reject(abortError());
        // Declared before the handlers that use it: Pulumi's closure serializer (the binding's dynamic provider
        // carries this module) cannot capture a variable still in its temporal dead zone.
        let timer: ReturnType<typeof setTimeout> | undefined = undefined;
        const onAbort = (): void => {
            clearTimeout(timer);
            reject(abortError());
        };
        timer = setTimeout(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
        }, ms);
        signal.addEventListener("abort", onAbort, { once: true });
    });
}

function formatDuration(ms: number): string {
    const safe = Math.max(0, ms);
    if (safe < 1000) return `${Math.round(safe)}ms`;
    if (safe < 60_000) return `${(safe / 1000).toFixed(1)}s`;
    const totalSeconds = Math.round(safe / 1000);
    const hours = Math.floor(totalSeconds / 3600);
    const minutes = Math.floor((totalSeconds % 3600) / 60);
    const seconds = totalSeconds % 60;
    const pad = (n: number): string => String(n).padStart(2, "0");
    return hours > 0 ? `${hours}h ${pad(minutes)}m ${pad(seconds)}s` : `${minutes}m ${pad(seconds)}s`;
}

function normalizeEndpoint(endpoint: string | undefined): string {
    requireText("connection.endpoint", endpoint);
    const trimmed = endpoint.trim().replace(/\/+$/, "");
    let url: URL;
    try {
        url = new URL(trimmed);
    } catch {
        throw new ClusterCredentialError("InvalidArgument", `connection.endpoint is not a URL: ${trimmed}`);
    }
    // The SDK's bearer-token policy refuses plain http; failing here gives a clearer message.
    if (url.protocol !== "https:") throw new ClusterCredentialError("InvalidArgument", `connection.endpoint must be https: ${trimmed}`);
    return trimmed;
}

function requireText(name: string, value: unknown): asserts value is string {
    if (typeof value !== "string" || value.trim() === "") {
        throw new ClusterCredentialError("InvalidArgument", `${name} must be a non-empty string`);
    }
}

function positiveNumber(name: string, value: number | undefined, fallback: number): number {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0)
        throw new ClusterCredentialError("InvalidArgument", `${name} must be a positive number of milliseconds`);
    return value;
}

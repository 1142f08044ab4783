/**
 * Binds an existing AKS cluster to a service principal's credentials: a Pulumi dynamic resource whose create and
 * update call the `resetServicePrincipalProfile` action (ARM rejects a changed profile on PUT), whose read reports
 * the client id the cluster really uses, and whose delete refuses, restores or leaves as the user chose.
 *
 * The provider object is serialized into the state by Pulumi. It captures only code: every credential and the
 * secret travel as (secret) inputs, and the Azure SDKs are loaded inside the methods, so neither program start-up
 * nor the serialized text carries them.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TokenCredential } from "@azure/core-auth";
import { LOGIN_HOSTS, type AzureEnvironment } from "./azureIds";
import * as reset from "./reset/resetClusterServicePrincipal";
import { ValidationError, type Problem } from "./validation";

/** What happens to the cluster when the binding is deleted (destroy, or the binding removed from the program). */
export type BindingDeletePolicy = "refuse" | "restore" | "leave";

export const BINDING_DELETE_POLICIES: readonly BindingDeletePolicy[] = ["refuse", "restore", "leave"];

/** How the binding signs in to the cluster's tenant. Absent client id means DefaultAzureCredential. */
export interface BindingSignIn {
    /** Client id of the deploying application. */
    readonly clientId?: string;
    /** Its client secret (secret). */
    readonly clientSecret?: pulumi.Input<string>;
    /** Federate with the CI's OIDC token instead of a secret. */
    readonly useOidc?: boolean;
}

export interface ClusterCredentialBindingArgs {
    /** Subscription of the AKS cluster. */
    readonly subscriptionId: string;
    /** Resource group of the AKS cluster. */
    readonly resourceGroupName: string;
    /** Name of the AKS cluster. */
    readonly clusterName: string;
    /** Entra tenant of the cluster; credentials are restricted to it. */
    readonly tenantId: string;
    /** Azure cloud; picks the ARM endpoint and the sign-in authority. Default `public`. */
    readonly azureEnvironment?: AzureEnvironment;
    /** Client id the cluster must use. */
    readonly clientId: pulumi.Input<string>;
    /** Client secret the cluster must use (kept secret). */
    readonly secret: pulumi.Input<string>;
    /** Deletion behaviour. Default `refuse`. */
    readonly deletePolicy?: BindingDeletePolicy;
    /** With `deletePolicy: "restore"`: the service principal to switch the cluster back to (secret). */
    readonly restore?: { readonly clientId: pulumi.Input<string>; readonly secret: pulumi.Input<string> };
    /** Overall deadline of one reset, retries and waiting included. Default 60 minutes. */
    readonly timeoutMinutes?: number;
    /** How to sign in. Default: DefaultAzureCredential restricted to `tenantId`. */
    readonly signIn?: BindingSignIn;
    /**
     * ARM endpoint of a private or sovereign cloud that `azureEnvironment` does not name, such as Azure Stack Hub
     * (e.g. `https://management.local.azurestack.external`): an https origin, no path. Tokens are requested for
     * `${armEndpoint}/.default`, so the cloud's ARM must accept that audience. Default: the ARM endpoint of
     * `azureEnvironment`.
     */
    readonly armEndpoint?: string;
    /**
     * Sign-in host of such a cloud: an https origin, no path; the tenant is appended. Instance discovery is turned
     * off when it is given, because Entra's discovery service only knows the public clouds' authorities, so it must
     * be a host you trust. Default: the sign-in host of `azureEnvironment`.
     */
    readonly authorityHost?: string;
    /**
     * Seconds between polls of the reset operation, and the base of the retry backoff. AKS resets take minutes,
     * so polling faster only spends ARM read quota. Default 15.
     */
    readonly pollIntervalSeconds?: number;
    /**
     * The cluster was created with exactly these credentials (a stack that owns its cluster feeds it the
     * component's `servicePrincipalProfile`). Create then reads the cluster and, when it already uses this client
     * id, records the binding without a reset, which would roll the nodes of a cluster just created. Later
     * changes reset as usual. Default false.
     */
    readonly initialCredentialsApplied?: boolean;
}

/** The provider's inputs and outputs: flat, serializable, secrets marked by the resource options. */
export interface BindingState {
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly clusterName: string;
    readonly tenantId: string;
    readonly azureEnvironment: AzureEnvironment;
    readonly clientId: string;
    readonly secret: string;
    readonly deletePolicy: BindingDeletePolicy;
    readonly restoreClientId?: string;
    readonly restoreSecret?: string;
    readonly timeoutMinutes: number;
    readonly signInClientId?: string;
    readonly signInClientSecret?: string;
    readonly useOidc: boolean;
    /** Custom ARM endpoint; absent means the one of `azureEnvironment`. */
    readonly armEndpoint?: string;
    /** Custom sign-in host; absent means the one of `azureEnvironment`. */
    readonly authorityHost?: string;
    /** Poll interval of the reset; absent means 15 seconds. */
    readonly pollIntervalSeconds?: number;
    readonly initialCredentialsApplied?: boolean;
    /** Output: the client id the cluster used before this binding first switched it. */
    readonly previousClientId?: string;
    /** Output: the client id the cluster really uses, as last seen (a refresh updates it). */
    readonly clusterClientId?: string;
}

/** Inputs that would put the secret or a credential in plain text in the state if not marked. */
export const BINDING_SECRET_OUTPUTS = ["secret", "restoreSecret", "signInClientSecret"] as const;

/** Changing which cluster is bound means a different binding. */
const TARGET_KEYS = ["subscriptionId", "resourceGroupName", "clusterName"] as const;
/** Keys whose change needs no call to Azure, only a new state. */
const SETTING_KEYS = [
    "tenantId",
    "azureEnvironment",
    "deletePolicy",
    "restoreClientId",
    "restoreSecret",
    "timeoutMinutes",
    "signInClientId",
    "signInClientSecret",
    "useOidc",
    "armEndpoint",
    "authorityHost",
    "pollIntervalSeconds",
] as const;

/** Poll interval of the reset operation: AKS resets take minutes. */
const DEFAULT_POLL_INTERVAL_SECONDS = 15;

function clusterResourceId(state: BindingState): string {
    return `/subscriptions/${state.subscriptionId}/resourceGroups/${state.resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${state.clusterName}`;
}

function sameText(a: unknown, b: unknown, caseInsensitive: boolean): boolean {
    if (typeof a === "string" && typeof b === "string" && caseInsensitive) {
        return a.toLowerCase() === b.toLowerCase();
    }
    return a === b;
}

/** Whether the cluster must be reset to reach `news`: new credentials, or drift seen by a refresh. */
function needsReset(olds: BindingState, news: BindingState): boolean {
    return (
        olds.clientId !== news.clientId ||
        olds.secret !== news.secret ||
        (olds.clusterClientId !== undefined && olds.clusterClientId !== news.clientId)
    );
}

/**
 * The deployment's credential for the cluster tenant, built in the provider process. Loaded lazily so the
 * program never loads @azure/identity.
 */
async function credentialFor(state: BindingState): Promise<TokenCredential> {
    const identity = await import("@azure/identity");
    // Instance discovery asks the public cloud whether the authority is valid, and it knows no private cloud's.
    const authority =
        state.authorityHost === undefined
            ? { authorityHost: LOGIN_HOSTS[state.azureEnvironment] }
            : { authorityHost: state.authorityHost, disableInstanceDiscovery: true };
    if (state.signInClientId && state.signInClientSecret) {
        return new identity.ClientSecretCredential(state.tenantId, state.signInClientId, state.signInClientSecret, authority);
    }
    if (state.useOidc && state.signInClientId) {
        const tokenFile = process.env.AZURE_FEDERATED_TOKEN_FILE;
        if (tokenFile) {
            return new identity.WorkloadIdentityCredential({
                tenantId: state.tenantId,
                clientId: state.signInClientId,
                tokenFilePath: tokenFile,
                ...authority,
            });
        }
        return new identity.ClientAssertionCredential(state.tenantId, state.signInClientId, () => ciOidcToken(), authority);
    }
    // Ambient: Azure CLI, managed identity, environment. Restricted to the cluster's tenant.
    return new identity.DefaultAzureCredential({ tenantId: state.tenantId, ...authority });
}

/** The CI's OIDC token, read the way the Pulumi Azure providers read it (GitHub Actions or ARM_OIDC_* variables). */
async function ciOidcToken(): Promise<string> {
    const direct = process.env.ARM_OIDC_TOKEN;
    if (direct) {
        return direct;
    }
    const requestUrl = process.env.ARM_OIDC_REQUEST_URL ?? process.env.ACTIONS_ID_TOKEN_REQUEST_URL;
    const requestToken = process.env.ARM_OIDC_REQUEST_TOKEN ?? process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
    if (!requestUrl || !requestToken) {
        throw new Error(
            "useOidc is set but no OIDC token is available: set ARM_OIDC_TOKEN, or run in GitHub Actions with `permissions: id-token: write` (ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN), or AZURE_FEDERATED_TOKEN_FILE",
        );
    }
    const url = new URL(requestUrl);
    url.searchParams.set("audience", "api://AzureADTokenExchange");
    const response = await fetch(url, { headers: { Authorization: `Bearer ${requestToken}` } });
    if (!response.ok) {
        throw new Error(`could not get the CI's OIDC token: HTTP ${response.status}`);
    }
    const body = (await response.json()) as { value?: string };
    if (!body.value) {
        throw new Error("the CI's OIDC token response has no value");
    }
    return body.value;
}

async function connectionFor(state: BindingState): Promise<reset.ArmConnection> {
    return {
        endpoint: state.armEndpoint ?? reset.ARM_ENDPOINTS[state.azureEnvironment],
        credential: await credentialFor(state),
        // Named when AKS never finds the principal, so the message points at the tenant to check.
        tenantId: state.tenantId,
        pollIntervalMs: (state.pollIntervalSeconds ?? DEFAULT_POLL_INTERVAL_SECONDS) * 1000,
        timeoutMs: state.timeoutMinutes * 60_000,
        // A progress line that cannot reach the engine must not become an unhandled rejection in the provider host.
        log: (message) => {
            pulumi.log.info(message).catch(() => undefined);
        },
    };
}

function targetOf(state: BindingState): reset.ClusterTarget {
    return { subscriptionId: state.subscriptionId, resourceGroupName: state.resourceGroupName, clusterName: state.clusterName };
}

/** Why deleting is refused by default, and what to do instead. Names no secret. */
export function refuseDeleteMessage(
    state: Pick<BindingState, "resourceGroupName" | "clusterName" | "clientId" | "previousClientId">,
): string {
    return [
        `Refusing to delete the credential binding of AKS cluster ${state.resourceGroupName}/${state.clusterName}.`,
        `The cluster signs in as application ${state.clientId}; deleting this stack's resources deletes that application's secret,`,
        "after which the cluster can no longer pull images or manage its Azure resources. Choose what should happen, then run `pulumi up` so the choice is stored, and run this again:",
        "  - clusterDeletePolicy: restore, with restoreClientId and restoreClientSecret (pulumi config set --secret): switch the cluster to that service principal first" +
            (state.previousClientId ? ` (before this stack it used ${state.previousClientId})` : ""),
        "  - clusterDeletePolicy: leave: leave the cluster on these credentials; it keeps working only until the secret is deleted or expires",
    ].join("\n");
}

/** Builds the ARM connection for a binding's state: credential, endpoint, deadline and logging. */
export type ConnectionFactory = (state: BindingState) => Promise<reset.ArmConnection>;

/**
 * The dynamic provider's methods over a connection factory, so tests can point them at a fake ARM server.
 * Methods receive inputs and state as plain values (secrets unwrapped) and must keep them out of logs and errors.
 */
export function makeBindingProvider(connect: ConnectionFactory): pulumi.dynamic.ResourceProvider<BindingState, BindingState> {
    return {
        diff(_id: pulumi.ID, olds: BindingState, news: BindingState): Promise<pulumi.dynamic.DiffResult> {
            const replaces = TARGET_KEYS.filter((key) => !sameText(olds[key], news[key], true));
            const settingsChanged = SETTING_KEYS.some((key) => !sameText(olds[key], news[key], false));
            return Promise.resolve({
                changes: replaces.length > 0 || needsReset(olds, news) || settingsChanged,
                replaces,
                deleteBeforeReplace: false,
            });
        },

        async create(inputs: BindingState): Promise<pulumi.dynamic.CreateResult<BindingState>> {
            if (inputs.initialCredentialsApplied) {
                const current = await reset.readClusterClientId(targetOf(inputs), await connect(inputs));
                if (current === inputs.clientId) {
                    return { id: clusterResourceId(inputs), outs: { ...inputs, previousClientId: current, clusterClientId: current } };
                }
            }
            const { previousClientId } = await reset.resetClusterServicePrincipal(
                targetOf(inputs),
                { clientId: inputs.clientId, secret: inputs.secret },
                await connect(inputs),
            );
            return { id: clusterResourceId(inputs), outs: { ...inputs, previousClientId, clusterClientId: inputs.clientId } };
        },

        async read(id: pulumi.ID, props?: BindingState): Promise<pulumi.dynamic.ReadResult<BindingState>> {
            if (!props) {
                throw new Error(`A credential binding cannot be imported (${id}): declare it and let \`pulumi up\` switch the cluster.`);
            }
            const clusterClientId = await reset.readClusterClientId(targetOf(props), await connect(props));
            return { id, props: { ...props, clusterClientId } };
        },

        async update(_id: pulumi.ID, olds: BindingState, news: BindingState): Promise<pulumi.dynamic.UpdateResult<BindingState>> {
            if (needsReset(olds, news)) {
                await reset.resetClusterServicePrincipal(
                    targetOf(news),
                    { clientId: news.clientId, secret: news.secret },
                    await connect(news),
                );
            }
            return { outs: { ...news, previousClientId: olds.previousClientId, clusterClientId: news.clientId } };
        },

        async delete(_id: pulumi.ID, props: BindingState): Promise<void> {
            switch (props.deletePolicy) {
                case "leave":
                    pulumi.log
                        .warn(
                            `Leaving AKS cluster ${props.resourceGroupName}/${props.clusterName} on application ${props.clientId}: it stops pulling when that secret is deleted or expires.`,
                        )
                        .catch(() => undefined);
                    return;
                case "restore":
                    if (!props.restoreClientId || !props.restoreSecret) {
                        throw new Error(
                            `clusterDeletePolicy is restore but no restoreClientId/restoreClientSecret is stored for ${props.resourceGroupName}/${props.clusterName}.`,
                        );
                    }
                    await reset.resetClusterServicePrincipal(
                        targetOf(props),
                        { clientId: props.restoreClientId, secret: props.restoreSecret },
                        await connect(props),
                    );
                    return;
                default:
                    throw new Error(refuseDeleteMessage(props));
            }
        },
    };
}

/** The provider Pulumi serializes into the state: real credentials and the configured (or given) cloud endpoints. */
export const clusterCredentialBindingProvider = makeBindingProvider(connectionFor);

function trimSlashes(url: string): string {
    return url.trim().replace(/\/+$/, "");
}

/** Problems with the endpoint and polling overrides; the rest is checked by the component or the reset itself. */
function bindingProblems(args: ClusterCredentialBindingArgs): Problem[] {
    const problems: Problem[] = [];
    for (const key of ["armEndpoint", "authorityHost"] as const) {
        const value = args[key];
        if (value !== undefined && !isHttpsUrl(trimSlashes(value))) {
            problems.push({
                key,
                value: JSON.stringify(value),
                expected: "an https URL without a path, query or fragment, e.g. https://management.local.azurestack.external",
            });
        }
    }
    const poll = args.pollIntervalSeconds;
    if (poll !== undefined && !(Number.isFinite(poll) && poll > 0)) {
        problems.push({ key: "pollIntervalSeconds", value: String(poll), expected: "a positive number of seconds" });
    }
    return problems;
}

function isHttpsUrl(text: string): boolean {
    try {
        const url = new URL(text);
        // The SDKs append the tenant (authority) or the API paths (ARM) to these origins: a path or query would end up in the wrong place.
        return url.protocol === "https:" && (url.pathname === "/" || url.pathname === "") && url.search === "" && url.hash === "";
    } catch {
        return false;
    }
}

/** Flattens the args into the provider's inputs. */
function bindingInputs(args: ClusterCredentialBindingArgs): pulumi.Inputs {
    return {
        subscriptionId: args.subscriptionId,
        resourceGroupName: args.resourceGroupName,
        clusterName: args.clusterName,
        tenantId: args.tenantId,
        azureEnvironment: args.azureEnvironment ?? "public",
        clientId: args.clientId,
        secret: pulumi.secret(args.secret),
        deletePolicy: args.deletePolicy ?? "refuse",
        restoreClientId: args.restore?.clientId,
        restoreSecret: args.restore ? pulumi.secret(args.restore.secret) : undefined,
        timeoutMinutes: args.timeoutMinutes ?? 60,
        signInClientId: args.signIn?.clientId,
        signInClientSecret: args.signIn?.clientSecret === undefined ? undefined : pulumi.secret(args.signIn.clientSecret),
        useOidc: args.signIn?.useOidc ?? false,
        // Left out when not given, so stacks deployed before these settings existed see no change.
        armEndpoint: args.armEndpoint === undefined ? undefined : trimSlashes(args.armEndpoint),
        authorityHost: args.authorityHost === undefined ? undefined : trimSlashes(args.authorityHost),
        pollIntervalSeconds: args.pollIntervalSeconds,
        initialCredentialsApplied: args.initialCredentialsApplied,
        previousClientId: undefined,
        clusterClientId: undefined,
    };
}

/**
 * Switches an existing AKS cluster to the given service principal and keeps it there: new credentials reset it
 * again in place, a refresh shows drift, and deletion follows `deletePolicy`.
 */
export class ClusterCredentialBinding extends pulumi.dynamic.Resource {
    /** Client id the cluster used before the first switch. */
    declare public readonly previousClientId: pulumi.Output<string>;
    /** Client id the cluster really uses, as last read or set. */
    declare public readonly clusterClientId: pulumi.Output<string>;

    /** @throws {ValidationError} when an endpoint is not an https URL or the poll interval is not positive. */
    constructor(name: string, args: ClusterCredentialBindingArgs, opts?: pulumi.CustomResourceOptions) {
        const problems = bindingProblems(args);
        if (problems.length > 0) {
            throw new ValidationError(`Invalid arguments for the credential binding ${name}:`, problems);
        }
        super(
            clusterCredentialBindingProvider,
            name,
            bindingInputs(args),
            pulumi.mergeOptions(opts, { additionalSecretOutputs: [...BINDING_SECRET_OUTPUTS] }),
            "aks-acr-cross-tenant",
            "ClusterCredentialBinding",
        );
    }
}

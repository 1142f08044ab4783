/**
 * What the cluster binding does at deploy time: the dynamic provider's methods (create and update reset the
 * cluster's service principal, read reports the client id it really uses, delete refuses, restores or leaves) and
 * the sign-in they use.
 *
 * This module runs inside Pulumi's dynamic provider host, where it is shipped as its own source text with the
 * other runtime modules (see `runtimeSource.ts`): it may import only those, packages and Node built-ins.
 * Credentials and the secret reach it as (secret) inputs only.
 */
import * as pulumi from "@pulumi/pulumi";
import type { TokenCredential } from "@azure/core-auth";
import { bindingDiff, needsReset, type BindingState } from "./bindingState";
import { ARM_ENDPOINTS, LOGIN_HOSTS } from "./clouds";
import * as reset from "./resetClusterServicePrincipal";

export type { BindingDeletePolicy, BindingState } from "./bindingState";

/** Poll interval of the reset operation: AKS resets take minutes. */
const DEFAULT_POLL_INTERVAL_SECONDS = 15;

function clusterResourceId(state: BindingState): string {
    return `/subscriptions/${state.subscriptionId}/resourceGroups/${state.resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${state.clusterName}`;
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
        endpoint: state.armEndpoint ?? ARM_ENDPOINTS[state.azureEnvironment],
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

/** The binding's provider: every method a dynamic provider may have, all of them implemented. */
export type BindingProvider = Required<
    Pick<pulumi.dynamic.ResourceProvider<BindingState, BindingState>, "diff" | "create" | "read" | "update" | "delete">
>;

/** Builds the ARM connection for a binding's state: credential, endpoint, deadline and logging. */
export type ConnectionFactory = (state: BindingState) => Promise<reset.ArmConnection>;

/**
 * The dynamic provider's methods over a connection factory, so tests can point them at a fake ARM server.
 * Methods receive inputs and state as plain values (secrets unwrapped) and must keep them out of logs and errors.
 */
export function makeBindingProvider(connect: ConnectionFactory): BindingProvider {
    return {
        diff(_id: pulumi.ID, olds: BindingState, news: BindingState): Promise<pulumi.dynamic.DiffResult> {
            return Promise.resolve(bindingDiff(olds, news));
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

/** The provider the binding runs: real credentials and the configured (or given) cloud endpoints. */
export const bindingProvider = makeBindingProvider(connectionFor);

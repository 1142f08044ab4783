/**
 * The Azure twin's Azure Resource Manager face: the managed-cluster calls the product makes through
 * `@azure/arm-containerservice` against `https://management.azure.com`, answered from the twin's store.
 *
 * What it imitates, and where that was read:
 * - ARM's bearer-token checks and their 401 codes (ARM "Azure Resource Manager error codes" / common errors):
 *   `AuthenticationFailed` (no or malformed `Authorization`), `InvalidAuthenticationToken`,
 *   `ExpiredAuthenticationToken`, `InvalidAuthenticationTokenAudience` (ARM takes `https://management.azure.com[/]` and
 *   `https://management.core.windows.net[/]`), `InvalidAuthenticationTokenTenant` (the token's tenant must be the one
 *   that owns the subscription; with a `WWW-Authenticate` naming the right authority); `SubscriptionNotFound`,
 *   `MissingApiVersionParameter`, `ResourceNotFound`, the `{"error": {"code", "message"}}` envelope.
 * - `GET .../managedClusters/{name}`: the resource shape of the AKS REST reference (`id`, `name`, `type`, `location`,
 *   `identity`, `properties.provisioningState`, `properties.servicePrincipalProfile.clientId` without the secret,
 *   `properties.oidcIssuerProfile`).
 * - `POST .../resetServicePrincipalProfile` (AKS REST reference "Managed Clusters - Reset Service Principal Profile";
 *   what `az aks update-credentials --reset-service-principal` calls): body `{clientId, secret}`, `202` with
 *   `Azure-AsyncOperation` and `Location` on `.../locations/{location}/operations|operationresults/{id}
 *   ?api-version=2016-03-30`. The SDK (`@azure/arm-containerservice` 25.x `dist/commonjs/api/managedClusters/
 *   operations.js`, `resetServicePrincipalProfile`: `resourceLocationConfig: "location"`, statuses 200/201/202; polling
 *   in `@azure/core-lro` `dist/commonjs/http/operation.js`) polls the `Azure-AsyncOperation` URL until its `status` is
 *   terminal, then GETs the `Location` URL once, accepting only 200/201/202: so the result URL answers 202 while the
 *   operation runs and 200 (empty) after. AKS's refusals as seen in AKS issues and the design notes: an MSI cluster
 *   cannot be reset; a client id with no (or a not yet replicated) service principal in the cluster's tenant is `400
 *   ServicePrincipalNotFound` "Service principal clientID: <id> not found in Active Directory tenant <tenant>, Please
 *   see https://aka.ms/aks-sp-help for more details."; a secret Entra refuses is `400 BadRequest` "The credentials in
 *   ServicePrincipalProfile were invalid. ..." with Entra's answer (AADSTS7000215, AADSTS7000222) in its details.
 * - `POST .../listClusterUserCredential`: `{kubeconfigs: [{name: "clusterUser", value: <base64>}]}`.
 *
 * Not imitated: Azure RBAC on the cluster (any token of the owning tenant may act), resource groups as resources,
 * throttling, `Retry-After`, and every other managed-cluster operation.
 */
import { randomUUID } from "node:crypto";
import {
    applicationByClientId,
    replicated,
    servicePrincipalOf,
    twinNow,
    TwinError,
    type TwinCluster,
    type TwinState,
    type TwinStore,
} from "./store";
import type { TwinAccessTokenClaims, TwinTokenIssuer } from "./entra";
import type { TwinHandler, TwinRequest, TwinResponse } from "./https";

/** The public cloud's ARM host. */
export const ARM_HOST = "management.azure.com";

/** The audiences ARM accepts. */
export const ARM_AUDIENCES: readonly string[] = [
    "https://management.azure.com",
    "https://management.azure.com/",
    "https://management.core.windows.net",
    "https://management.core.windows.net/",
];

const OPERATION_API_VERSION = "2016-03-30";
const CLUSTER =
    /^\/subscriptions\/([^/]+)\/resourceGroups\/([^/]+)\/providers\/Microsoft\.ContainerService\/managedClusters\/([^/]+)(?:\/([^/]+))?$/i;
const OPERATION =
    /^\/subscriptions\/([^/]+)\/providers\/Microsoft\.ContainerService\/locations\/([^/]+)\/(operations|operationresults)\/([^/]+)$/i;
const SUBSCRIPTION = /^\/subscriptions\/([^/]+)(?:\/|$)/i;

/** A long-running operation of the face: AKS reports it in progress once, then succeeded. */
interface Operation {
    readonly id: string;
    readonly subscriptionId: string;
    readonly startTime: string;
    polls: number;
    endTime?: string;
}

/** How the ARM face is set up. */
export interface ArmFaceOptions {
    readonly store: TwinStore;
    readonly tokens: TwinTokenIssuer;
}

/** The handler of `management.azure.com`. */
export function armHandler(options: ArmFaceOptions): TwinHandler {
    const operations = new Map<string, Operation>();
    return (request) => {
        const path = request.url.pathname;
        const state = options.store.read();
        const subscription = SUBSCRIPTION.exec(path)?.[1];
        if (subscription === undefined) return armError(404, "NotFound", `The Azure twin does not serve ${request.method} ${path}.`);

        const denied = authenticate(request, state, options.tokens, subscription);
        if (denied !== undefined) return denied;
        if (!request.url.searchParams.get("api-version")) {
            return armError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        }

        const operation = OPERATION.exec(path);
        if (operation !== null && request.method === "GET") {
            return operationAnswer(operations, operation[4], operation[3].toLowerCase() === "operations", request.url);
        }
        const cluster = CLUSTER.exec(path);
        if (cluster !== null) {
            const [, subscriptionId, resourceGroupName, name, action] = cluster;
            const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${name}`;
            const found = state.clusters[id.toLowerCase()];
            if (found === undefined) {
                return armError(
                    404,
                    "ResourceNotFound",
                    `The Resource 'Microsoft.ContainerService/managedClusters/${name}' under resource group '${resourceGroupName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
                );
            }
            const verb = `${request.method} ${action?.toLowerCase() ?? ""}`;
            switch (verb) {
                case "GET ":
                    return { status: 200, body: clusterResource(found) };
                case "POST resetserviceprincipalprofile":
                    return resetServicePrincipalProfile(options.store, operations, found, request);
                case "POST listclusterusercredential":
                    return {
                        status: 200,
                        body: { kubeconfigs: [{ name: "clusterUser", value: Buffer.from(kubeconfigOf(found)).toString("base64") }] },
                    };
                default:
                    break;
            }
        }
        return armError(404, "NotFound", `The Azure twin does not serve ${request.method} ${path}.`);
    };
}

/** The subscription's tenant: the tenant of any resource the twin knows in it. */
export function tenantOfSubscription(state: TwinState, subscriptionId: string): string | undefined {
    const wanted = subscriptionId.toLowerCase();
    const owner = [...Object.values(state.clusters), ...Object.values(state.registries)].find(
        (r) => r.subscriptionId.toLowerCase() === wanted,
    );
    if (owner !== undefined) return owner.tenantId;
    return Object.values(state.roleAssignments).find((a) => a.scope.toLowerCase().startsWith(`/subscriptions/${wanted}`))?.tenantId;
}

/**
 * Checks the bearer token as ARM does; undefined when the request may go on. Exported for faces that take an ARM
 * token too (ACR's `/oauth2/exchange`).
 */
export function checkArmToken(
    authorization: string | undefined,
    state: TwinState,
    tokens: TwinTokenIssuer,
): { claims: TwinAccessTokenClaims } | { refusal: TwinResponse } {
    if (authorization === undefined) {
        return {
            refusal: armError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
                challenge("The authentication failed because of missing 'Authorization' header."),
            ),
        };
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (bearer === null) {
        return {
            refusal: armError(
                401,
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is provided in an invalid format.",
                challenge("The authentication failed because of invalid 'Authorization' header."),
            ),
        };
    }
    const claims = tokens.verify(bearer[1]);
    if (claims === undefined) {
        return {
            refusal: armError(401, "InvalidAuthenticationToken", "The access token is invalid.", challenge("The access token is invalid.")),
        };
    }
    const now = twinNow(state);
    if (claims.exp * 1000 <= now.getTime()) {
        return {
            refusal: armError(
                401,
                "ExpiredAuthenticationToken",
                `The access token expiry UTC time '${new Date(claims.exp * 1000).toUTCString()}' is earlier than current UTC time '${now.toUTCString()}'.`,
                challenge("The access token has expired."),
            ),
        };
    }
    if (!ARM_AUDIENCES.includes(claims.aud)) {
        return {
            refusal: armError(
                401,
                "InvalidAuthenticationTokenAudience",
                `The access token has been obtained for wrong audience or resource '${claims.aud}'. It should exactly match with one of the allowed audiences '${ARM_AUDIENCES.join("','")}'.`,
                challenge("The access token has an invalid audience."),
            ),
        };
    }
    return { claims };
}

function authenticate(request: TwinRequest, state: TwinState, tokens: TwinTokenIssuer, subscriptionId: string): TwinResponse | undefined {
    const checked = checkArmToken(request.headers.authorization, state, tokens);
    if ("refusal" in checked) return checked.refusal;
    const owner = tenantOfSubscription(state, subscriptionId);
    if (owner === undefined) return armError(404, "SubscriptionNotFound", `The subscription '${subscriptionId}' could not be found.`);
    if (owner !== checked.claims.tid) {
        return armError(
            401,
            "InvalidAuthenticationTokenTenant",
            `The access token is from the wrong issuer 'https://sts.windows.net/${checked.claims.tid}/'. It must match the tenant 'https://sts.windows.net/${owner}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${owner}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
            `Bearer authorization_uri="https://login.windows.net/${owner}", error="invalid_token", error_description="The access token is from the wrong issuer."`,
        );
    }
    return undefined;
}

function challenge(description: string): string {
    return `Bearer authorization_uri="https://login.windows.net/", error="invalid_token", error_description="${description}"`;
}

/** The cluster as ARM returns it: never the secret. */
export function clusterResource(cluster: TwinCluster): Record<string, unknown> {
    const { servicePrincipalProfile: _ignored, ...declared } = cluster.properties ?? {};
    return {
        id: cluster.id,
        location: cluster.location,
        name: cluster.name,
        type: "Microsoft.ContainerService/ManagedClusters",
        ...(cluster.identity !== undefined ? { identity: cluster.identity } : {}),
        sku: { name: "Base", tier: "Free" },
        properties: {
            provisioningState: "Succeeded",
            powerState: { code: "Running" },
            ...declared,
            servicePrincipalProfile: { clientId: cluster.servicePrincipalProfile.clientId },
            ...(cluster.oidcIssuerProfile !== undefined ? { oidcIssuerProfile: cluster.oidcIssuerProfile } : {}),
        },
    };
}

function isManagedIdentityCluster(cluster: TwinCluster): boolean {
    return (
        cluster.servicePrincipalProfile.clientId.toLowerCase() === "msi" ||
        (cluster.identity !== undefined && cluster.identity.type !== "None")
    );
}

function resetServicePrincipalProfile(
    store: TwinStore,
    operations: Map<string, Operation>,
    cluster: TwinCluster,
    request: TwinRequest,
): TwinResponse {
    let body: unknown;
    try {
        body = JSON.parse(request.body.toString("utf8"));
    } catch {
        return armError(400, "InvalidRequestContent", "The request content was invalid and could not be deserialized.");
    }
    const clientId = (body as { clientId?: unknown } | null)?.clientId;
    const secret = (body as { secret?: unknown } | null)?.secret;
    if (typeof clientId !== "string" || clientId === "" || typeof secret !== "string" || secret === "") {
        return armError(
            400,
            "InvalidParameter",
            "Required parameters 'clientId' and 'secret' of the service principal profile are missing.",
        );
    }
    try {
        store.mutate((state, log) => {
            const current = state.clusters[cluster.id.toLowerCase()];
            if (current === undefined) throw new TwinError(404, "ResourceNotFound", `The Resource '${cluster.id}' was not found.`);
            if (isManagedIdentityCluster(current)) {
                throw new TwinError(400, "BadRequest", "Updating service principal profile is not allowed on MSI cluster.");
            }
            const principal = servicePrincipalOf(state, clientId, current.tenantId);
            if (principal === undefined || !replicated(state, principal)) {
                throw new TwinError(
                    400,
                    "ServicePrincipalNotFound",
                    `Service principal clientID: ${clientId} not found in Active Directory tenant ${current.tenantId}, Please see https://aka.ms/aks-sp-help for more details.`,
                );
            }
            const app = applicationByClientId(state, clientId);
            const passwords = Object.values(state.passwords).filter((p) => p.applicationObjectId === app?.objectId && p.value === secret);
            const live = passwords.some((p) => Date.parse(p.endDate) > twinNow(state).getTime());
            if (!live) {
                const inner =
                    passwords.length === 0
                        ? `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`
                        : `AADSTS7000222: The provided client secret keys for app '${clientId}' are expired.`;
                throw new TwinError(
                    400,
                    "BadRequest",
                    `The credentials in ServicePrincipalProfile were invalid. Please see https://aka.ms/aks-sp-help for more details. (Details: adal: Refresh request failed. Status Code = '401'. Response body: {"error":"invalid_client","error_description":"${inner}"})`,
                );
            }
            // The secret is stored (AKS keeps it to sign in) and never logged.
            current.servicePrincipalProfile = { clientId, secret };
            log("arm", "reset service principal", current.id, { clientId });
        });
    } catch (error) {
        // A TwinError's message is `<code>: <message>`.
        if (error instanceof TwinError) return armError(error.status, error.code, error.message.slice(error.code.length + 2));
        throw error;
    }
    const id = randomUUID();
    operations.set(id, { id, subscriptionId: cluster.subscriptionId, startTime: new Date().toISOString(), polls: 0 });
    const base = `https://${ARM_HOST}/subscriptions/${cluster.subscriptionId}/providers/Microsoft.ContainerService/locations/${cluster.location}`;
    return {
        status: 202,
        headers: {
            "azure-asyncoperation": `${base}/operations/${id}?api-version=${OPERATION_API_VERSION}`,
            location: `${base}/operationresults/${id}?api-version=${OPERATION_API_VERSION}`,
        },
    };
}

function operationAnswer(operations: Map<string, Operation>, id: string, status: boolean, url: URL): TwinResponse {
    const operation = operations.get(id);
    if (operation === undefined) return armError(404, "NotFound", `Operation ${id} was not found.`);
    if (status) {
        operation.polls += 1;
        if (operation.polls === 1) return { status: 200, body: { name: id, status: "InProgress", startTime: operation.startTime } };
        operation.endTime ??= new Date().toISOString();
        return { status: 200, body: { name: id, status: "Succeeded", startTime: operation.startTime, endTime: operation.endTime } };
    }
    if (operation.endTime === undefined) return { status: 202, headers: { location: url.href } };
    return { status: 200 };
}

function kubeconfigOf(cluster: TwinCluster): string {
    if (cluster.userKubeconfig !== undefined) return cluster.userKubeconfig;
    const server = `https://${cluster.name}-dns.hcp.${cluster.location}.azmk8s.io:443`;
    return [
        "apiVersion: v1",
        "kind: Config",
        `clusters:\n- cluster:\n    server: ${server}\n  name: ${cluster.name}`,
        `contexts:\n- context:\n    cluster: ${cluster.name}\n    user: clusterUser_${cluster.resourceGroupName}_${cluster.name}\n  name: ${cluster.name}`,
        `current-context: ${cluster.name}`,
        `users:\n- name: clusterUser_${cluster.resourceGroupName}_${cluster.name}\n  user:\n    token: twin-user-token`,
        "",
    ].join("\n");
}

/** ARM's error envelope. */
export function armError(status: number, code: string, message: string, wwwAuthenticate?: string): TwinResponse {
    return {
        status,
        ...(wwwAuthenticate !== undefined ? { headers: { "www-authenticate": wwwAuthenticate } } : {}),
        body: { error: { code, message } },
    };
}

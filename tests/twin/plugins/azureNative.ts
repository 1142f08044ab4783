/**
 * The Azure twin's `azure-native` resource plugin: stands in for pulumi-azure-native at the exact version the SDK asks
 * for, acting on Azure Resource Manager as the twin's store holds it, signed in to the tenant of its provider
 * configuration and defaulting to its subscription.
 *
 * What it imitates, and where that was read:
 * - Replacement: pulumi/pulumi-azure-native `provider/pkg/provider/diff.go` (path parameters of the PUT and `forceNew`
 *   properties replace, the rest updates in place) and `provider/pkg/gen/replacement.go` (`forceNewMap`:
 *   `Authorization/RoleAssignment`: principalId, scope; `ContainerService/ManagedCluster`: diskEncryptionSetID,
 *   dnsPrefix, fqdnSubdomain, linuxProfile, location, nodeResourceGroup, windowsProfile and the networkProfile
 *   sub-properties serviceCidr(s), dnsServiceIP, networkMode, networkPlugin(Mode), podCidr, networkDataplane,
 *   networkPolicy, outboundType). Azure/azure-rest-api-specs `specification/authorization/resource-manager/
 *   Microsoft.Authorization/stable/2022-04-01/authorization-RoleAssignmentsCalls.json` has no `x-ms-mutability` on a
 *   role assignment's properties and `{scope}`, `{roleAssignmentName}` as path parameters. So a role assignment is
 *   replaced when its scope, name or principal changes; a changed `roleDefinitionId` is an in-place PUT, which ARM
 *   refuses (`RoleAssignmentUpdateNotPermitted`, "Tenant ID, application ID, principal ID, and scope are not allowed
 *   to be updated.", as ARM deployments report it).
 * - Check: azure-native's `Check` (`provider/pkg/provider/provider.go`): "missing required property '<name>'", a
 *   missing `roleAssignmentName` (`AutoNameUuid`) or `resourceName` auto-named and kept from the old inputs, a
 *   missing location defaulted (from the resource group in Azure; the twin, which has no resource groups, uses
 *   westeurope). The SDK itself defaults `principalType` to "User" (`@pulumi/azure-native/authorization/
 *   roleAssignment.js`, the REST spec's `"default": "User"`).
 * - ARM's answers (ARM "Troubleshoot Azure RBAC", "Assign Azure roles using the REST API", reports in public issues):
 *   `409 RoleAssignmentExists` "The role assignment already exists."; `400 PrincipalNotFound` "Principal <id> does not
 *   exist in the directory <tenant>. ... set the role assignment principalType property ..." (a principal Entra has
 *   not replicated yet, unless `principalType` is given: then ARM takes the type on trust); `400
 *   UnmatchedPrincipalType` "The PrincipalId '<id>' has type 'ServicePrincipal' , which is different from specified
 *   PrinciaplType 'User'." (sic); `401 InvalidAuthenticationTokenTenant` for a subscription of another tenant;
 *   `404 SubscriptionNotFound`, `ResourceGroupNotFound`, `ResourceNotFound`; `400 MissingApiVersionParameter`. Error
 *   text as azure-native v3 shows an `azcore.ResponseError`.
 * - AKS (`tests/twin/arm.ts` imitates the same service over HTTPS; AKS REST reference and issue reports): a service
 *   principal profile whose client id has no (replicated) service principal in the cluster's tenant is `400
 *   ServicePrincipalNotFound`; a secret Entra refuses is `400 BadRequest` "The credentials in ServicePrincipalProfile
 *   were invalid."; a changed profile on PUT is `PropertyChangeNotAllowed` (examples/owned-cluster/index.ts);
 *   `servicePrincipalProfile` comes back with the client id only, never the secret; `listClusterUserCredential`
 *   answers `{kubeconfigs: [{name: "clusterUser", value: <base64>}]}`. The invoke result is not marked secret:
 *   azure-native's `Invoke` marshals its result without secrets (provider.go), so the program wraps it itself.
 * - `resources:getResource`: the generic GET of ARM; a registry's `properties.roleAssignmentMode` is returned for
 *   api-version 2025-03-01 and later (the twin's choice; the product reads it with 2025-11-01).
 *
 * Type tokens: `azure-native:authorization:RoleAssignment`, `azure-native:containerservice:ManagedCluster`; invoke
 * tokens `azure-native:containerservice:getManagedCluster`, `azure-native:containerservice:
 * listManagedClusterUserCredentials`, `azure-native:resources:getResource` (`@pulumi/azure-native` 3.28.0).
 * Not imitated: RBAC of the caller (the deployer may do anything in its tenant), management-group scopes, deny
 * assignments, resource groups as resources, long-running operations.
 */
import { createHash } from "node:crypto";
import type { CheckFailure, CheckResult } from "@pulumi/pulumi/provider";
import {
    applicationByClientId,
    newGuid,
    replicated,
    servicePrincipalOf,
    twinNow,
    TwinError,
    type TwinCluster,
    type TwinState,
    type TwinStore,
} from "../store";
import { armCall, pickInputs, sdkVersion, twinProvider, type DiffSpec, type ResourceHandler, type TwinProvider } from "./framework";
import { serve } from "./serve";
import { TwinSession } from "./session";
import { isGuid, knownAt, reveal, sameValue, stringAt, type PropertyMap } from "./values";

/** The plugin's name and version: the SDK's own, which is what the engine asks for. */
export const AZURE_NATIVE_PLUGIN = { name: "azure-native", version: sdkVersion("@pulumi/azure-native") } as const;

export const ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment";
export const MANAGED_CLUSTER = "azure-native:containerservice:ManagedCluster";
export const GET_MANAGED_CLUSTER = "azure-native:containerservice:getManagedCluster";
export const LIST_USER_CREDENTIALS = "azure-native:containerservice:listManagedClusterUserCredentials";
export const GET_RESOURCE = "azure-native:resources:getResource";

const ROLE_ASSIGNMENT_API = "2022-04-01";
const MANAGED_CLUSTER_API = "2025-09-01";
const ROLE_ASSIGNMENT_MODE_SINCE = "2025-03-01";
const DEFAULT_LOCATION = "westeurope";

const SCOPE = /^\/subscriptions\/([^/]+)(?:\/resourceGroups\/([^/]+)(?:\/providers\/(.+))?)?$/i;
const ROLE_DEFINITION = /^(?:\/subscriptions\/[^/]+)?\/providers\/Microsoft\.Authorization\/roleDefinitions\/([^/]+)$/i;

/** The subscription's tenant: the tenant of anything the twin knows in it (as `tests/twin/arm.ts` decides it). */
export function tenantOfSubscription(state: TwinState, subscriptionId: string): string | undefined {
    const wanted = subscriptionId.toLowerCase();
    const owner = [...Object.values(state.clusters), ...Object.values(state.registries)].find(
        (r) => r.subscriptionId.toLowerCase() === wanted,
    );
    if (owner !== undefined) return owner.tenantId;
    return Object.values(state.roleAssignments).find((a) => a.scope.toLowerCase().startsWith(`/subscriptions/${wanted}`))?.tenantId;
}

/**
 * ARM's check of the caller's token against the subscription: the provider's own subscription belongs to its tenant
 * unless the twin knows it in another; any other subscription must be known.
 */
function authorize(state: TwinState, subscriptionId: string, session: TwinSession): void {
    const tenantId = session.tenantId();
    const owner =
        tenantOfSubscription(state, subscriptionId) ??
        (subscriptionId.toLowerCase() === session.configured().subscriptionId?.toLowerCase() ? tenantId : undefined);
    if (owner === undefined) throw new TwinError(404, "SubscriptionNotFound", `The subscription '${subscriptionId}' could not be found.`);
    if (owner !== tenantId) {
        throw new TwinError(
            401,
            "InvalidAuthenticationTokenTenant",
            `The access token is from the wrong issuer 'https://sts.windows.net/${tenantId}/'. It must match the tenant 'https://sts.windows.net/${owner}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/${owner}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later.`,
        );
    }
}

function resourceGroupKnown(state: TwinState, subscriptionId: string, resourceGroupName: string): boolean {
    const prefix = `/subscriptions/${subscriptionId}/resourcegroups/${resourceGroupName}/`.toLowerCase();
    return [...Object.keys(state.registries), ...Object.keys(state.clusters)].some((id) => id.startsWith(prefix));
}

function notFound(state: TwinState, subscriptionId: string, resourceGroupName: string, typeAndName: string): TwinError {
    if (!resourceGroupKnown(state, subscriptionId, resourceGroupName)) {
        return new TwinError(404, "ResourceGroupNotFound", `Resource group '${resourceGroupName}' could not be found.`);
    }
    return new TwinError(
        404,
        "ResourceNotFound",
        `The Resource '${typeAndName}' under resource group '${resourceGroupName}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix`,
    );
}

/** Checks that a role assignment may be written at `scope` by this provider, and that a resource the twin tracks exists. */
function authorizeScope(state: TwinState, scope: string, session: TwinSession): void {
    const match = SCOPE.exec(scope);
    if (match === null) {
        throw new TwinError(
            400,
            "InvalidScope",
            `The scope '${scope}' is not valid: the Azure twin serves subscription, resource group and resource scopes.`,
        );
    }
    const [, subscriptionId, resourceGroupName, provider] = match;
    authorize(state, subscriptionId, session);
    if (resourceGroupName === undefined || provider === undefined) return;
    const tracked = /^(Microsoft\.ContainerRegistry\/registries|Microsoft\.ContainerService\/managedClusters)\/([^/]+)$/i.exec(provider);
    if (tracked === null) return;
    const id = scope.toLowerCase();
    if (state.registries[id] === undefined && state.clusters[id] === undefined)
        throw notFound(state, subscriptionId, resourceGroupName, provider);
}

function missingRequired(failures: CheckFailure[], news: PropertyMap, properties: readonly string[]): void {
    for (const property of properties) {
        if (news[property] === undefined || news[property] === null)
            failures.push({ property, reason: `missing required property '${property}'` });
    }
}

function roleGuid(roleDefinitionId: string): string | undefined {
    return ROLE_DEFINITION.exec(roleDefinitionId)?.[1]?.toLowerCase();
}

function roleAssignmentHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: [
            "condition",
            "conditionVersion",
            "delegatedManagedIdentityResourceId",
            "description",
            "principalId",
            "principalType",
            "roleAssignmentName",
            "roleDefinitionId",
            "scope",
        ],
        forceNew: ["scope", "roleAssignmentName", "principalId"],
        defaults: { principalType: "User" },
    };
    const outputs = (assignment: TwinState["roleAssignments"][string], inputs: PropertyMap): PropertyMap => ({
        ...inputs,
        id: assignment.id,
        name: assignment.name,
        roleAssignmentName: assignment.name,
        type: "Microsoft.Authorization/roleAssignments",
        scope: assignment.scope,
        roleDefinitionId: assignment.roleDefinitionId,
        principalId: assignment.principalId,
        principalType: assignment.principalType ?? "ServicePrincipal",
        description: assignment.description,
        condition: assignment.condition,
        conditionVersion: assignment.conditionVersion,
        createdOn: assignment.createdAt,
        updatedOn: assignment.createdAt,
        azureApiVersion: ROLE_ASSIGNMENT_API,
    });
    return {
        diffSpec,
        check(news, olds): CheckResult {
            const failures: CheckFailure[] = [];
            missingRequired(failures, news, ["principalId", "roleDefinitionId", "scope"]);
            // Auto-naming: a GUID, kept from the old inputs; the engine checks again without them to replace.
            const roleAssignmentName = news.roleAssignmentName ?? olds.roleAssignmentName ?? newGuid();
            return { inputs: { ...news, roleAssignmentName }, failures };
        },
        create(inputs) {
            const tenantId = session.tenantId();
            const scope = stringAt(inputs, "scope")!;
            const name = stringAt(inputs, "roleAssignmentName") ?? newGuid();
            const principalId = stringAt(inputs, "principalId")!;
            const roleDefinitionId = stringAt(inputs, "roleDefinitionId")!;
            const principalType = stringAt(inputs, "principalType");
            const id = `${scope}/providers/Microsoft.Authorization/roleAssignments/${name}`;
            const created = armCall("PUT", `${id}?api-version=${ROLE_ASSIGNMENT_API}`, () =>
                session.store.mutate((state, log) => {
                    if (state.roleAssignments[id.toLowerCase()] !== undefined)
                        throw new Error(`cannot create already existing resource '${id}'`);
                    authorizeScope(state, scope, session);
                    if (!isGuid(name))
                        throw new TwinError(
                            400,
                            "InvalidRoleAssignmentId",
                            `The role assignment ID '${name}' is not valid. The role assignment ID must be a GUID.`,
                        );
                    const role = roleGuid(roleDefinitionId);
                    if (role === undefined || !isGuid(role))
                        throw new TwinError(400, "InvalidRoleDefinitionId", `The role definition ID '${roleDefinitionId}' is not valid.`);
                    const principal = state.servicePrincipals[principalId];
                    if (
                        principal === undefined ||
                        principal.tenantId !== tenantId ||
                        (!replicated(state, principal) && principalType === undefined)
                    ) {
                        throw new TwinError(
                            400,
                            "PrincipalNotFound",
                            `Principal ${principalId} does not exist in the directory ${tenantId}. Check that you have the correct principal ID. If you are creating this principal and then immediately assigning a role, this error might be related to a replication delay. In this case, set the role assignment principalType property to a value, such as ServicePrincipal, User, or Group.  See https://aka.ms/docs-principaltype`,
                        );
                    }
                    if (principalType !== undefined && principalType !== "ServicePrincipal" && replicated(state, principal)) {
                        throw new TwinError(
                            400,
                            "UnmatchedPrincipalType",
                            `The PrincipalId '${principalId}' has type 'ServicePrincipal' , which is different from specified PrinciaplType '${principalType}'.`,
                        );
                    }
                    const duplicate = Object.values(state.roleAssignments).find(
                        (a) =>
                            a.principalId.toLowerCase() === principalId.toLowerCase() &&
                            roleGuid(a.roleDefinitionId) === role &&
                            a.scope.toLowerCase() === scope.toLowerCase(),
                    );
                    if (duplicate !== undefined) throw new TwinError(409, "RoleAssignmentExists", "The role assignment already exists.");
                    const assignment = {
                        id,
                        name,
                        tenantId,
                        scope,
                        roleDefinitionId,
                        principalId,
                        principalType,
                        condition: stringAt(inputs, "condition"),
                        conditionVersion: stringAt(inputs, "conditionVersion"),
                        description: stringAt(inputs, "description"),
                        createdAt: twinNow(state).toISOString(),
                    };
                    state.roleAssignments[id.toLowerCase()] = assignment;
                    log("azure-native", "create role assignment", id, { tenantId, principalId, roleDefinitionId, scope, principalType });
                    return assignment;
                }),
            );
            return { id, outs: outputs(created, inputs) };
        },
        read(id, props) {
            const state = session.store.read();
            const assignment = state.roleAssignments[id.toLowerCase()];
            if (assignment === undefined) return undefined;
            armCall("GET", `${id}?api-version=${ROLE_ASSIGNMENT_API}`, () => authorizeScope(state, assignment.scope, session));
            const outs = outputs(assignment, pickInputs(diffSpec, props));
            return { props: outs, inputs: pickInputs(diffSpec, outs) };
        },
        update(id, _olds, news) {
            return armCall("PUT", `${id}?api-version=${ROLE_ASSIGNMENT_API}`, () =>
                session.store.mutate((state, log) => {
                    const assignment = state.roleAssignments[id.toLowerCase()];
                    if (assignment === undefined)
                        throw new TwinError(404, "RoleAssignmentNotFound", `The role assignment '${id}' is not found.`);
                    authorizeScope(state, assignment.scope, session);
                    const roleDefinitionId = stringAt(news, "roleDefinitionId")!;
                    if (
                        roleGuid(roleDefinitionId) !== roleGuid(assignment.roleDefinitionId) ||
                        stringAt(news, "principalId")?.toLowerCase() !== assignment.principalId.toLowerCase() ||
                        stringAt(news, "scope")?.toLowerCase() !== assignment.scope.toLowerCase()
                    ) {
                        throw new TwinError(
                            400,
                            "RoleAssignmentUpdateNotPermitted",
                            "Tenant ID, application ID, principal ID, and scope are not allowed to be updated.",
                        );
                    }
                    const updated = {
                        ...assignment,
                        principalType: stringAt(news, "principalType") ?? assignment.principalType,
                        description: stringAt(news, "description"),
                        condition: stringAt(news, "condition"),
                        conditionVersion: stringAt(news, "conditionVersion"),
                    };
                    state.roleAssignments[id.toLowerCase()] = updated;
                    log("azure-native", "update role assignment", id, {
                        tenantId: assignment.tenantId,
                        principalId: assignment.principalId,
                    });
                    return outputs(updated, news);
                }),
            );
        },
        delete(id) {
            armCall("DELETE", `${id}?api-version=${ROLE_ASSIGNMENT_API}`, () =>
                session.store.mutate((state, log) => {
                    const assignment = state.roleAssignments[id.toLowerCase()];
                    if (assignment === undefined) return;
                    authorizeScope(state, assignment.scope, session);
                    delete state.roleAssignments[id.toLowerCase()];
                    log("azure-native", "delete role assignment", id, {
                        tenantId: assignment.tenantId,
                        principalId: assignment.principalId,
                    });
                }),
            );
        },
    };
}

const CLUSTER_FORCE_NEW = [
    "resourceGroupName",
    "resourceName",
    "location",
    "dnsPrefix",
    "fqdnSubdomain",
    "linuxProfile",
    "nodeResourceGroup",
    "windowsProfile",
    "diskEncryptionSetID",
];
const NETWORK_FORCE_NEW = [
    "serviceCidr",
    "serviceCidrs",
    "dnsServiceIP",
    "networkMode",
    "networkPlugin",
    "networkPluginMode",
    "podCidr",
    "networkDataplane",
    "networkPolicy",
    "outboundType",
];
const CLUSTER_INPUTS = [
    "aadProfile",
    "addonProfiles",
    "agentPoolProfiles",
    "aiToolchainOperatorProfile",
    "apiServerAccessProfile",
    "autoScalerProfile",
    "autoUpgradeProfile",
    "azureMonitorProfile",
    "bootstrapProfile",
    "disableLocalAccounts",
    "diskEncryptionSetID",
    "dnsPrefix",
    "enableRBAC",
    "extendedLocation",
    "fqdnSubdomain",
    "httpProxyConfig",
    "identity",
    "identityProfile",
    "ingressProfile",
    "kind",
    "kubernetesVersion",
    "linuxProfile",
    "location",
    "metricsProfile",
    "networkProfile",
    "nodeProvisioningProfile",
    "nodeResourceGroup",
    "nodeResourceGroupProfile",
    "oidcIssuerProfile",
    "podIdentityProfile",
    "privateLinkResources",
    "publicNetworkAccess",
    "resourceGroupName",
    "resourceName",
    "securityProfile",
    "serviceMeshProfile",
    "servicePrincipalProfile",
    "sku",
    "storageProfile",
    "supportPlan",
    "tags",
    "upgradeSettings",
    "windowsProfile",
    "workloadAutoScalerProfile",
];
/** Inputs that are not ARM `properties` of the cluster, or that the store keeps apart (never the secret in `properties`). */
const NOT_PROPERTIES = [
    "resourceGroupName",
    "resourceName",
    "location",
    "identity",
    "servicePrincipalProfile",
    "oidcIssuerProfile",
    "tags",
    "kind",
    "extendedLocation",
    "sku",
    "windowsProfile",
];

function clusterId(subscriptionId: string, resourceGroupName: string, name: string): string {
    return `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${name}`;
}

/** The user kubeconfig of a cluster the twin created: it reaches no API server. */
function placeholderKubeconfig(name: string, resourceGroupName: string, fqdn: string): string {
    const user = `clusterUser_${resourceGroupName}_${name}`;
    return [
        "apiVersion: v1",
        "kind: Config",
        `clusters:\n- cluster:\n    server: https://${fqdn}:443\n  name: ${name}`,
        `contexts:\n- context:\n    cluster: ${name}\n    user: ${user}\n  name: ${name}`,
        `current-context: ${name}`,
        `users:\n- name: ${user}\n  user:\n    token: twin-user-token`,
        "",
    ].join("\n");
}

function fqdnOf(cluster: TwinCluster): string {
    const prefix = (cluster.properties?.dnsPrefix as string | undefined) ?? cluster.name;
    const hash = createHash("sha256").update(cluster.id.toLowerCase()).digest("hex").slice(0, 8);
    return `${prefix}-${hash}.hcp.${cluster.location}.azmk8s.io`;
}

/** The cluster in the SDK's shape (ARM's `properties` flattened): the client id, never the secret. */
function clusterOutputs(cluster: TwinCluster): PropertyMap {
    return {
        ...(cluster.properties ?? {}),
        azureApiVersion: MANAGED_CLUSTER_API,
        id: cluster.id,
        name: cluster.name,
        type: "Microsoft.ContainerService/ManagedClusters",
        location: cluster.location,
        provisioningState: "Succeeded",
        powerState: { code: "Running" },
        fqdn: fqdnOf(cluster),
        servicePrincipalProfile: { clientId: cluster.servicePrincipalProfile.clientId },
        ...(cluster.identity === undefined ? {} : { identity: { ...cluster.identity } }),
        oidcIssuerProfile: cluster.oidcIssuerProfile ?? { enabled: false },
    };
}

/** AKS's validation of a service principal profile against Entra, in the cluster's tenant. */
function checkServicePrincipal(state: TwinState, tenantId: string, clientId: string, secret: string | undefined): void {
    const principal = servicePrincipalOf(state, clientId, tenantId);
    if (principal === undefined || !replicated(state, principal)) {
        throw new TwinError(
            400,
            "ServicePrincipalNotFound",
            `Service principal clientID: ${clientId} not found in Active Directory tenant ${tenantId}, Please see https://aka.ms/aks-sp-help for more details.`,
        );
    }
    const app = applicationByClientId(state, clientId);
    const matching = Object.values(state.passwords).filter((p) => p.applicationObjectId === app?.objectId && p.value === secret);
    if (!matching.some((p) => Date.parse(p.endDate) > twinNow(state).getTime())) {
        const inner =
            matching.length === 0
                ? `AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`
                : `AADSTS7000222: The provided client secret keys for app '${clientId}' are expired.`;
        throw new TwinError(
            400,
            "BadRequest",
            `The credentials in ServicePrincipalProfile were invalid. Please see https://aka.ms/aks-sp-help for more details. (Details: ${inner})`,
        );
    }
}

function managedClusterHandler(session: TwinSession): ResourceHandler {
    const diffSpec: DiffSpec = {
        inputs: CLUSTER_INPUTS,
        forceNew: CLUSTER_FORCE_NEW,
        replaceWhen: {
            networkProfile: (olds, news) =>
                NETWORK_FORCE_NEW.some(
                    (key) => !sameValue((reveal(olds) as PropertyMap | undefined)?.[key], (reveal(news) as PropertyMap | undefined)?.[key]),
                ),
        },
    };
    const properties = (inputs: PropertyMap): Record<string, unknown> =>
        Object.fromEntries(Object.entries(reveal(inputs) as PropertyMap).filter(([key]) => !NOT_PROPERTIES.includes(key)));
    return {
        diffSpec,
        check(news, olds, urnName): CheckResult {
            const failures: CheckFailure[] = [];
            missingRequired(failures, news, ["resourceGroupName"]);
            const resourceName =
                news.resourceName ?? olds.resourceName ?? `${urnName}${createHash("sha256").update(newGuid()).digest("hex").slice(0, 8)}`;
            const location = news.location ?? olds.location ?? DEFAULT_LOCATION;
            return { inputs: { ...news, resourceName, location }, failures };
        },
        create(inputs) {
            const tenantId = session.tenantId();
            const subscriptionId = session.subscriptionId();
            const resourceGroupName = stringAt(inputs, "resourceGroupName")!;
            const name = stringAt(inputs, "resourceName")!;
            const location = stringAt(inputs, "location") ?? DEFAULT_LOCATION;
            const id = clusterId(subscriptionId, resourceGroupName, name);
            const cluster = armCall("PUT", `${id}?api-version=${MANAGED_CLUSTER_API}`, () =>
                session.store.mutate((state, log) => {
                    authorize(state, subscriptionId, session);
                    if (state.clusters[id.toLowerCase()] !== undefined) throw new Error(`cannot create already existing resource '${id}'`);
                    const profile = knownAt(inputs, "servicePrincipalProfile") as { clientId?: string; secret?: string } | undefined;
                    const identity = knownAt(inputs, "identity") as { type?: string } | undefined;
                    if (profile?.clientId === undefined && identity === undefined) {
                        throw new TwinError(
                            400,
                            "BadRequest",
                            "Either servicePrincipalProfile or identity must be specified for the managed cluster.",
                        );
                    }
                    const clientId = profile?.clientId ?? "msi";
                    if (clientId.toLowerCase() !== "msi") checkServicePrincipal(state, tenantId, clientId, profile?.secret);
                    const oidc = knownAt(inputs, "oidcIssuerProfile") as { enabled?: boolean } | undefined;
                    const created: TwinCluster = {
                        id,
                        tenantId,
                        subscriptionId,
                        resourceGroupName,
                        name,
                        location,
                        servicePrincipalProfile: { clientId, ...(profile?.secret === undefined ? {} : { secret: profile.secret }) },
                        ...(identity === undefined ? {} : { identity: { type: identity.type ?? "SystemAssigned" } }),
                        oidcIssuerProfile:
                            oidc?.enabled === true
                                ? { enabled: true, issuerURL: `https://${location}.oic.prod-aks.azure.com/${tenantId}/${newGuid()}/` }
                                : { enabled: false },
                        properties: properties(inputs),
                    };
                    created.userKubeconfig = placeholderKubeconfig(name, resourceGroupName, fqdnOf(created));
                    state.clusters[id.toLowerCase()] = created;
                    // The secret is stored (AKS keeps it to sign in) and never logged.
                    log("azure-native", "create cluster", id, { tenantId, clientId });
                    return created;
                }),
            );
            return { id, outs: { ...inputs, ...clusterOutputs(cluster) } };
        },
        read(id, props) {
            const state = session.store.read();
            const cluster = state.clusters[id.toLowerCase()];
            if (cluster === undefined) return undefined;
            armCall("GET", `${id}?api-version=${MANAGED_CLUSTER_API}`, () => authorize(state, cluster.subscriptionId, session));
            return { props: { ...pickInputs(diffSpec, props), ...clusterOutputs(cluster) } };
        },
        update(id, _olds, news) {
            const cluster = armCall("PUT", `${id}?api-version=${MANAGED_CLUSTER_API}`, () =>
                session.store.mutate((state, log) => {
                    const current = state.clusters[id.toLowerCase()];
                    if (current === undefined) throw new TwinError(404, "ResourceNotFound", `The Resource '${id}' was not found.`);
                    authorize(state, current.subscriptionId, session);
                    const profile = knownAt(news, "servicePrincipalProfile") as { clientId?: string; secret?: string } | undefined;
                    if (profile !== undefined) {
                        for (const key of ["clientId", "secret"] as const) {
                            if (profile[key] !== undefined && profile[key] !== current.servicePrincipalProfile[key]) {
                                throw new TwinError(
                                    400,
                                    "PropertyChangeNotAllowed",
                                    `Changing property 'servicePrincipalProfile.${key}' is not allowed.`,
                                );
                            }
                        }
                    }
                    const oidc = knownAt(news, "oidcIssuerProfile") as { enabled?: boolean } | undefined;
                    if (oidc?.enabled === true && current.oidcIssuerProfile?.enabled !== true) {
                        current.oidcIssuerProfile = {
                            enabled: true,
                            issuerURL: `https://${current.location}.oic.prod-aks.azure.com/${current.tenantId}/${newGuid()}/`,
                        };
                    }
                    current.properties = properties(news);
                    log("azure-native", "update cluster", id, {
                        tenantId: current.tenantId,
                        clientId: current.servicePrincipalProfile.clientId,
                    });
                    return current;
                }),
            );
            return { ...news, ...clusterOutputs(cluster) };
        },
        delete(id) {
            armCall("DELETE", `${id}?api-version=${MANAGED_CLUSTER_API}`, () =>
                session.store.mutate((state, log) => {
                    const cluster = state.clusters[id.toLowerCase()];
                    if (cluster === undefined) return;
                    authorize(state, cluster.subscriptionId, session);
                    delete state.clusters[id.toLowerCase()];
                    log("azure-native", "delete cluster", id, { tenantId: cluster.tenantId });
                }),
            );
        },
    };
}

function requiredArgs(args: PropertyMap, names: readonly string[]): Record<string, string> {
    const missing = names.filter((name) => stringAt(args, name) === undefined);
    if (missing.length > 0) throw new Error(`missing required property '${missing[0]}'`);
    return Object.fromEntries(names.map((name) => [name, stringAt(args, name)!]));
}

/** The cluster named by an invoke's `resourceGroupName`/`resourceName`, in the provider's subscription. */
function findCluster(session: TwinSession, args: PropertyMap, method: string, suffix: string): TwinCluster {
    const { resourceGroupName, resourceName } = requiredArgs(args, ["resourceGroupName", "resourceName"]);
    const subscriptionId = session.subscriptionId();
    const id = clusterId(subscriptionId, resourceGroupName, resourceName);
    return armCall(method, `${id}${suffix}?api-version=${MANAGED_CLUSTER_API}`, () => {
        const state = session.store.read();
        authorize(state, subscriptionId, session);
        const cluster = state.clusters[id.toLowerCase()];
        if (cluster === undefined)
            throw notFound(state, subscriptionId, resourceGroupName, `Microsoft.ContainerService/managedClusters/${resourceName}`);
        return cluster;
    });
}

function getResource(session: TwinSession, args: PropertyMap): PropertyMap {
    const { resourceGroupName, resourceProviderNamespace, resourceType, resourceName } = requiredArgs(args, [
        "resourceGroupName",
        "resourceProviderNamespace",
        "resourceType",
        "resourceName",
    ]);
    const apiVersion = stringAt(args, "apiVersion");
    const parent = stringAt(args, "parentResourcePath") ?? "";
    const subscriptionId = session.subscriptionId();
    const typeAndName = `${resourceProviderNamespace}/${parent === "" ? "" : `${parent}/`}${resourceType}/${resourceName}`;
    const id = `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroupName}/providers/${typeAndName}`;
    return armCall("GET", `${id}?api-version=${apiVersion ?? ""}`, () => {
        if (apiVersion === undefined) {
            throw new TwinError(
                400,
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.",
            );
        }
        const state = session.store.read();
        authorize(state, subscriptionId, session);
        const registry = state.registries[id.toLowerCase()];
        if (registry !== undefined) {
            return {
                azureApiVersion: apiVersion,
                id: registry.id,
                name: registry.name,
                type: "Microsoft.ContainerRegistry/registries",
                location: DEFAULT_LOCATION,
                sku: { name: "Premium", tier: "Premium" },
                properties: {
                    loginServer: registry.loginServer,
                    provisioningState: "Succeeded",
                    adminUserEnabled: false,
                    ...(apiVersion >= ROLE_ASSIGNMENT_MODE_SINCE ? { roleAssignmentMode: registry.roleAssignmentMode } : {}),
                },
            };
        }
        const cluster = state.clusters[id.toLowerCase()];
        if (cluster !== undefined) {
            const { azureApiVersion: _version, id: _id, name: _name, type, location, identity, ...rest } = clusterOutputs(cluster);
            return {
                azureApiVersion: apiVersion,
                id: cluster.id,
                name: cluster.name,
                type,
                location,
                ...(identity === undefined ? {} : { identity }),
                properties: rest,
            };
        }
        throw notFound(state, subscriptionId, resourceGroupName, typeAndName);
    });
}

/** A new azure-native provider of the twin; `store` defaults to the one named by `AZURE_TWIN_STORE`. */
export function azureNativeProvider(options: { readonly store?: TwinStore } = {}): TwinProvider {
    const session = new TwinSession({
        face: "azure-native",
        requiresTenant: true,
        publicEnvironments: ["public", "AzureCloud", "AzurePublicCloud"],
        store: options.store,
    });
    return twinProvider({
        version: AZURE_NATIVE_PLUGIN.version,
        session,
        needsTenant: true,
        resources: {
            [ROLE_ASSIGNMENT]: roleAssignmentHandler(session),
            [MANAGED_CLUSTER]: managedClusterHandler(session),
        },
        invokes: {
            [GET_MANAGED_CLUSTER]: (args) => clusterOutputs(findCluster(session, args, "GET", "")),
            [LIST_USER_CREDENTIALS]: (args) => {
                const cluster = findCluster(session, args, "POST", "/listClusterUserCredential");
                const kubeconfig =
                    cluster.userKubeconfig ?? placeholderKubeconfig(cluster.name, cluster.resourceGroupName, fqdnOf(cluster));
                return { kubeconfigs: [{ name: "clusterUser", value: Buffer.from(kubeconfig, "utf8").toString("base64") }] };
            },
            [GET_RESOURCE]: (args) => getResource(session, args),
        },
    });
}

/** The provider this plugin process serves. */
export const provider: TwinProvider = azureNativeProvider();

if (require.main === module) {
    void serve(provider, process.argv.slice(2));
}

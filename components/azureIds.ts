/**
 * Pure helpers for Azure and Entra identifiers: parsing, naming rules and built-in role ids.
 * Nothing here touches Pulumi or the network, so every rule is unit-tested on its own.
 */
import { LOGIN_HOSTS } from "./reset/clouds";

/** Case-insensitive GUID in the 8-4-4-4-12 form Azure prints. */
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isGuid(value: string): boolean {
    return GUID.test(value);
}

/**
 * Resource group names: 1-90 characters; letters, digits, underscores, hyphens, periods and parentheses;
 * not ending in a period (Azure naming rules for Microsoft.Resources/resourceGroups).
 */
export function isResourceGroupName(value: string): boolean {
    return /^[-\w.()]{1,90}$/u.test(value) && !value.endsWith(".");
}

/**
 * AKS cluster names: 1-63 characters; letters, digits, underscores and hyphens; starting and ending with a
 * letter or digit (Azure naming rules for Microsoft.ContainerService/managedClusters).
 */
export function isClusterName(value: string): boolean {
    return /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/.test(value);
}

/** Container registry names: 5-50 letters and digits (Microsoft.ContainerRegistry/registries). */
export function isRegistryName(value: string): boolean {
    return /^[A-Za-z0-9]{5,50}$/.test(value);
}

/** The expected form of a registry id, quoted in validation messages. */
export const REGISTRY_ID_FORM =
    "/subscriptions/<subscription guid>/resourceGroups/<resource group>/providers/Microsoft.ContainerRegistry/registries/<5-50 letters and digits>";

/** A container registry resource id, split into the parts the role assignments need. */
export interface RegistryId {
    /** The id as given (ARM ids are case-insensitive; the original spelling is kept for the scope). */
    readonly id: string;
    readonly subscriptionId: string;
    readonly resourceGroupName: string;
    readonly registryName: string;
}

/**
 * Parses an ACR resource id. Returns the parts, or a sentence saying what is wrong with it.
 * Segment names are matched case-insensitively because ARM treats them so.
 */
export function parseRegistryId(value: string): RegistryId | { readonly problem: string } {
    const parts = value.split("/");
    const shapeOk =
        parts.length === 9 &&
        parts[0] === "" &&
        parts[1].toLowerCase() === "subscriptions" &&
        parts[3].toLowerCase() === "resourcegroups" &&
        parts[5].toLowerCase() === "providers" &&
        parts[6].toLowerCase() === "microsoft.containerregistry" &&
        parts[7].toLowerCase() === "registries";
    if (!shapeOk) {
        return { problem: "is not a container registry resource id" };
    }
    const [, , subscriptionId, , resourceGroupName, , , , registryName] = parts;
    const wrong: string[] = [];
    if (!isGuid(subscriptionId)) {
        wrong.push(`subscription "${subscriptionId}" is not a GUID`);
    }
    if (!isResourceGroupName(resourceGroupName)) {
        wrong.push(`resource group "${resourceGroupName}" breaks the resource group naming rules`);
    }
    if (!isRegistryName(registryName)) {
        wrong.push(`registry name "${registryName}" must be 5-50 letters and digits`);
    }
    if (wrong.length > 0) {
        return { problem: wrong.join("; ") };
    }
    return { id: value, subscriptionId, resourceGroupName, registryName };
}

/**
 * Built-in registry pull roles. Built-in role ids are the same in every tenant.
 * Registries in ABAC repository-permissions mode ignore AcrPull and need Container Registry Repository Reader.
 */
export const REGISTRY_ROLES = {
    AcrPull: "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    ContainerRegistryRepositoryReader: "b93aa761-3e63-49ed-ac28-beffa264f7ac",
} as const;

/** Name of a pull role this product can grant. */
export type RegistryRole = keyof typeof REGISTRY_ROLES;

export function isRegistryRole(value: string): value is RegistryRole {
    return Object.prototype.hasOwnProperty.call(REGISTRY_ROLES, value);
}

/**
 * Full role definition id as ARM expects it in a role assignment: addressed through the subscription that
 * holds the assignment's scope, not the provider's default subscription.
 */
export function roleDefinitionId(subscriptionId: string, roleGuid: string): string {
    return `/subscriptions/${subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/${roleGuid}`;
}

/**
 * Built-in roles the cluster's own principal commonly needs in tenant A (for example Network Contributor on a
 * custom VNet subnet). Any other role is given by its definition GUID.
 */
export const CLUSTER_TENANT_ROLES: Readonly<Record<string, string>> = {
    NetworkContributor: "4d97b98b-1d4f-4787-a291-c67834d212e7",
    Contributor: "b24988ac-6180-42a0-ab88-20f7382dd24c",
    Reader: "acdd72a7-3385-48ef-bd42-f606fba81ae7",
};

/** The role definition GUID for a known role name or a GUID, or undefined. */
export function clusterTenantRoleGuid(role: string): string | undefined {
    if (isGuid(role)) {
        return role.toLowerCase();
    }
    return Object.prototype.hasOwnProperty.call(CLUSTER_TENANT_ROLES, role) ? CLUSTER_TENANT_ROLES[role] : undefined;
}

/**
 * The subscription of an ARM scope at or below a subscription (`/subscriptions/<guid>[/...]`), or undefined when
 * the text is not such a scope (empty segments, a trailing slash, or no subscription).
 */
export function scopeSubscriptionId(scope: string): string | undefined {
    const parts = scope.split("/");
    if (parts.length < 3 || parts[0] !== "" || parts[1].toLowerCase() !== "subscriptions" || !isGuid(parts[2])) {
        return undefined;
    }
    if (parts.slice(1).some((part) => part.trim() === "") || parts.length % 2 === 0) {
        return undefined;
    }
    return parts[2];
}

/** Entra sign-in hosts per Azure cloud (kept with the ARM endpoints, in the module the binding's provider runs). */
export { LOGIN_HOSTS };

/** Azure cloud the stack runs in. */
export type AzureEnvironment = keyof typeof LOGIN_HOSTS;

export function isAzureEnvironment(value: string): value is AzureEnvironment {
    return Object.prototype.hasOwnProperty.call(LOGIN_HOSTS, value);
}

/** Redirect URI registered on the application, as in Microsoft's manual procedure; it only ends the consent page. */
export const CONSENT_REDIRECT_URI = "https://www.microsoft.com/";

/**
 * The tenant-B admin-consent link of the manual procedure. The component creates the service principal through
 * Graph, which is what consenting does, so the link is for administrators who want to review the grant.
 */
export function adminConsentUrl(environment: AzureEnvironment, tenantId: string, clientId: string): string {
    const query = new URLSearchParams({
        client_id: clientId,
        response_type: "code",
        redirect_uri: CONSENT_REDIRECT_URI,
    });
    return `${LOGIN_HOSTS[environment]}/${tenantId}/oauth2/authorize?${query.toString()}`;
}

/** DNS suffix of Azure Container Registry login servers, per Azure cloud. */
export const REGISTRY_LOGIN_SUFFIXES: Readonly<Record<AzureEnvironment, string>> = {
    public: "azurecr.io",
    usgovernment: "azurecr.us",
    china: "azurecr.cn",
};

/**
 * The login server of a registry: `<name, lower case>.azurecr.io` in the public cloud (`.azurecr.us` in Azure
 * Government, `.azurecr.cn` in Azure China). Registry names are case-insensitive; login servers are lower case.
 */
export function registryLoginServer(registryName: string, environment: AzureEnvironment): string {
    return `${registryName.toLowerCase()}.${REGISTRY_LOGIN_SUFFIXES[environment]}`;
}

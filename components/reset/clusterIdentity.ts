/**
 * Which credentials an AKS cluster signs in with. Shipped with the binding's runtime (see `runtimeSource.ts`), so
 * it imports nothing; the program's preview-time check uses it too.
 */

/** The fields of a managed cluster that tell its identity. */
export interface ClusterIdentityFields {
    /** `servicePrincipalProfile.clientId`: a client id, or `"msi"` on managed-identity clusters. */
    readonly servicePrincipalClientId?: string;
    /** `identity.type` (`SystemAssigned`, `UserAssigned`, `None`), or `"set"` for an identity without a type. */
    readonly identityType?: string;
}

/** Which credentials a cluster signs in with. */
export type ClusterIdentity =
    | { readonly kind: "servicePrincipal"; readonly clientId: string }
    | { readonly kind: "managedIdentity"; readonly detail: string }
    | { readonly kind: "unknown" };

/**
 * A cluster whose profile client id is `msi`, or that has an identity other than `None`, uses a managed identity;
 * one with a client id and no identity uses that service principal. Pure: the preview-time check (through
 * azure-native) and the reset (through the Azure SDK) read clusters differently and share this one rule.
 */
export function clusterIdentity(fields: ClusterIdentityFields): ClusterIdentity {
    const clientId = fields.servicePrincipalClientId;
    const identityType = fields.identityType;
    if (clientId?.toLowerCase() === "msi") {
        return {
            kind: "managedIdentity",
            detail: `servicePrincipalProfile.clientId is "msi"${identityType ? `, identity type ${identityType}` : ""}`,
        };
    }
    if (identityType !== undefined && identityType.toLowerCase() !== "none") {
        return { kind: "managedIdentity", detail: `identity type ${identityType}` };
    }
    if (clientId) return { kind: "servicePrincipal", clientId };
    return { kind: "unknown" };
}

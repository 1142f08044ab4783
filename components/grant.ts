/**
 * The grant: what lets the application pull, whatever delivers its credentials to the cluster. A multitenant
 * application and its client secret in the cluster's tenant (A), its service principal in both tenants, a pull
 * role on every registry in the registry tenant (B), and the roles a service-principal cluster needs in tenant A.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import * as azuread from "@pulumi/azuread";
import { RoleAssignment } from "@pulumi/azure-native/authorization";
import { RandomId } from "@pulumi/random/randomId";
import type { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import { CONSENT_REDIRECT_URI, roleDefinitionId, type RegistryId } from "./azureIds";
import { heldUntil } from "./registrationHold";
import { CONDITION_VERSION, plannedAssignments, type RegistryRoleChoice, type RepositoryLimits } from "./registryAccess";
import { secretSchedule, startOfDay } from "./secretSchedule";
import { secretDatesFromTags, secretHealth, secretTags, type SecretConsequences } from "./secretHealth";
import type { ResolvedClusterTenantRole } from "./validation";

/** The registry tenant's providers, passed explicitly because the component's own providers act in the cluster tenant. */
export interface RegistryTenantProviders {
    /** azuread provider signed in to the registry tenant (B); creates the service principal there. */
    readonly azuread: azuread.Provider;
    /** azure-native provider signed in to the registry tenant (B); creates the role assignments. */
    readonly azureNative: AzureNativeProvider;
}

/** What the grant is made of, checked and parsed by the component. */
export interface GrantArgs {
    readonly clusterTenantId: string;
    readonly registryTenantId: string;
    readonly registries: readonly RegistryId[];
    readonly role: RegistryRoleChoice;
    /** Repository limits, keyed by lower-case registry name; registries not listed pull from every repository. */
    readonly repositoryLimits: ReadonlyMap<string, RepositoryLimits>;
    readonly applicationName: string;
    readonly applicationOwners: readonly string[];
    readonly lifetimeDays: number;
    readonly renewBeforeDays: number;
    readonly clusterTenantRoles: readonly ResolvedClusterTenantRole[];
    readonly registryTenantProviders: RegistryTenantProviders;
    readonly now: Date;
    /** The day to record as the rotation anchor when the component first records one (an upgrade's old anchor). */
    readonly initialWindowAnchor?: Date;
    readonly stackName?: string;
    /**
     * What the delivery that hands the client secret on loses when it expires, and what renewing does, so the
     * warnings about a due or expired secret say so (only a cluster whose own service principal holds it loses its
     * Azure resources). Absent: worded for any delivery.
     */
    readonly secretConsequences?: SecretConsequences;
    /**
     * A federated grant: no password, and instead one federated identity credential per subject, trusting the
     * cluster's OIDC issuer. Absent: the grant carries a client secret that rotates.
     */
    readonly federated?: {
        readonly issuer: pulumi.Output<string>;
        /** The audience the cluster's tokens are requested for (`api://AzureADTokenExchange`). */
        readonly audience: string;
        readonly subjects: readonly { readonly key: string; readonly subject: string }[];
    };
    /**
     * Resolves once the delivery's checks passed (for example: the cluster accepts a service principal). Nothing of
     * the grant reaches the engine before, so a delivery that cannot work stops the run before anything is created.
     * It holds back registrations only, never a value: a preview in which a check cannot run yet (a namespace the
     * stack creates) shows the grant exactly as it is.
     */
    readonly after?: pulumi.Output<unknown>;
}

/** The grant's resources and the values deliveries and outputs read from them. */
export interface Grant {
    readonly application: azuread.Application;
    readonly clusterTenantPrincipal: azuread.ServicePrincipal;
    /** The client secret's password; absent in a federated grant. */
    readonly password?: azuread.ApplicationPassword;
    /** The federated identity credentials of a federated grant (empty otherwise). */
    readonly federatedCredentials: readonly azuread.ApplicationFederatedIdentityCredential[];
    readonly registryTenantPrincipal: azuread.ServicePrincipal;
    /** The pull role assignments: per registry, in `registries` order, its roles (`registryAccess.plannedAssignments`). */
    readonly assignments: readonly RoleAssignment[];
    readonly clusterTenantAssignments: readonly RoleAssignment[];
    /** The client secret, a Pulumi secret; absent in a federated grant. */
    readonly secret?: pulumi.Output<string>;
    /** The day rotation windows count from (ISO 8601); absent in a federated grant. */
    readonly anchor?: pulumi.Output<string>;
    /** The current rotation window's dates (ISO 8601); absent in a federated grant. */
    readonly schedule?: pulumi.Output<{ readonly windowStart: string; readonly renewsAfter: string; readonly expiresAt: string }>;
    /** Every principal and role assignment: what must exist before the cluster uses the credentials. */
    readonly ready: pulumi.Resource[];
}

/** A short stable suffix for names keyed by content rather than list position. */
function shortHash(text: string): string {
    return createHash("sha256").update(text).digest("hex").slice(0, 8);
}

/** Declares the grant as children of `parent`; tenant-A resources use the parent's providers. */
export function declareGrant(name: string, args: GrantArgs, parent: pulumi.Resource): Grant {
    const registryTenant = args.registryTenantProviders;
    const held = heldUntil(args.after);

    const rotation = args.federated === undefined ? secretRotation(name, args, parent, held) : undefined;

    const application = new azuread.Application(
        `${name}-app`,
        {
            displayName: args.applicationName,
            signInAudience: "AzureADMultipleOrgs",
            owners: args.applicationOwners.length > 0 ? [...args.applicationOwners] : undefined,
            // The consent link redirects here; Entra matches it exactly, so both use the same constant.
            web: { redirectUris: [CONSENT_REDIRECT_URI] },
            notes: `Lets AKS in tenant ${args.clusterTenantId} pull from container registries in tenant ${args.registryTenantId}. Managed by Pulumi; ${rotation ? "its secret rotates automatically" : "it has no secret: federated credentials trust the cluster's OIDC issuer"}.`,
            // The current secret's dates, on the application itself: the next run reads them back (below) to say
            // in its preview whether the deployed secret is due or expired.
            tags: rotation?.schedule.apply(secretTags),
        },
        // Held back with the anchor: everything else of the grant hangs off these two.
        { parent, ...held },
    );

    // Graph creates no service principal in the home tenant (the portal does); AKS signs in as this one.
    const clusterTenantPrincipal = new azuread.ServicePrincipal(`${name}-cluster-sp`, { clientId: application.clientId }, { parent });

    // The end date comes from the rotation window, so it is stable across runs until renewal is due;
    // the old password is deleted only after its replacement exists (create-before-delete, the default).
    const password =
        rotation &&
        new azuread.ApplicationPassword(
            `${name}-secret`,
            {
                applicationId: application.id,
                displayName: rotation.schedule.apply((s) => `aks-acr-pull ${s.windowStart.slice(0, 10)}`),
                endDate: rotation.schedule.apply((s) => s.expiresAt),
            },
            { parent, additionalSecretOutputs: ["value"] },
        );

    // No password: one federated credential per subject (a minting service account), trusting the cluster's OIDC
    // issuer. Entra allows 20 per application; the component checks the count. Names key on the subject, so the
    // list's order changes nothing.
    const federatedCredentials = (args.federated?.subjects ?? []).map(
        ({ key, subject }) =>
            new azuread.ApplicationFederatedIdentityCredential(
                `${name}-federated-${key}`,
                {
                    applicationId: application.id,
                    // 3-120 characters of letters, digits, '-' and '_', unique in the application, immutable.
                    displayName: `aks-${key}-${shortHash(subject)}`,
                    description: subject,
                    issuer: args.federated!.issuer,
                    subject,
                    audiences: [args.federated!.audience],
                },
                { parent },
            ),
    );

    // Provisioning the application in tenant B is what the manual procedure's admin consent does.
    const registryTenantPrincipal = new azuread.ServicePrincipal(
        `${name}-registry-sp`,
        { clientId: application.clientId },
        { parent, provider: registryTenant.azuread },
    );

    // Each registry's pull roles, at the registry's own scope (least privilege). Names key on the registry name
    // (globally unique), so reordering the list changes nothing, and the first role keeps the name earlier versions
    // gave the one assignment, so a deployed stack keeps its assignment as it is.
    const assignments = args.registries.flatMap((registry) =>
        plannedAssignments(args.role, args.repositoryLimits.get(registry.registryName.toLowerCase())).map(
            (planned) =>
                new RoleAssignment(
                    `${name}-${registry.registryName.toLowerCase()}-${planned.suffix}`,
                    {
                        scope: registry.id,
                        roleDefinitionId: roleDefinitionId(registry.subscriptionId, planned.roleGuid),
                        principalId: registryTenantPrincipal.objectId,
                        // The default "User" fails for a service principal, and this also avoids
                        // PrincipalNotFound while the new principal replicates.
                        principalType: "ServicePrincipal",
                        description: `${planned.role} for AKS in tenant ${args.clusterTenantId} (application ${args.applicationName})`,
                        ...(planned.condition === undefined ? {} : { condition: planned.condition, conditionVersion: CONDITION_VERSION }),
                    },
                    { parent, provider: registryTenant.azureNative },
                ),
        ),
    );

    // Roles the cluster's own principal needs in tenant A, through the component's (tenant A) provider.
    const clusterTenantAssignments = args.clusterTenantRoles.map(
        (role) =>
            new RoleAssignment(
                `${name}-cluster-role-${shortHash(`${role.scope.toLowerCase()}|${role.roleGuid}`)}`,
                {
                    scope: role.scope,
                    roleDefinitionId: roleDefinitionId(role.subscriptionId, role.roleGuid),
                    principalId: clusterTenantPrincipal.objectId,
                    principalType: "ServicePrincipal",
                    description: `${role.role} for the AKS cluster's service principal (application ${args.applicationName})`,
                },
                { parent },
            ),
    );

    if (rotation) warnAboutDeployedSecret(name, application, args, parent);

    return {
        application,
        clusterTenantPrincipal,
        password,
        federatedCredentials,
        registryTenantPrincipal,
        assignments,
        clusterTenantAssignments,
        secret: password && pulumi.secret(password.value),
        anchor: rotation?.anchor,
        schedule: rotation?.schedule,
        ready: [clusterTenantPrincipal, ...assignments, ...clusterTenantAssignments, ...federatedCredentials],
    };
}

/** The rotation anchor, kept in the component's state, and the current window's dates. */
function secretRotation(
    name: string,
    args: GrantArgs,
    parent: pulumi.Resource,
    held: pulumi.CustomResourceOptions,
): { readonly anchor: pulumi.Output<string>; readonly schedule: NonNullable<Grant["schedule"]> } {
    const { now, lifetimeDays, renewBeforeDays } = args;
    // The day rotation windows count from, kept in the component's own state: the keeper records the day of the
    // first deployment and `ignoreChanges` keeps it, so every later run reads that day back from the state (in
    // previews too) while the keeper it would declare moves with the clock. The random value itself is unused.
    const anchorRecord = new RandomId(
        `${name}-secret-anchor`,
        {
            byteLength: 4,
            keepers: { firstSecretDay: startOfDay(args.initialWindowAnchor ?? now).toISOString() },
        },
        { parent, ignoreChanges: ["keepers"], ...held },
    );
    // ISO strings, not Dates, inside outputs: pulumi.output unwraps a Date into an empty object.
    const anchor = anchorRecord.keepers.apply((keepers) => {
        const recorded = keepers?.firstSecretDay ? new Date(keepers.firstSecretDay) : undefined;
        return startOfDay(recorded && !Number.isNaN(recorded.getTime()) ? recorded : now).toISOString();
    });
    const schedule = anchor.apply((day) => {
        const { windowStart, renewsAfter, expiresAt } = secretSchedule({ now, lifetimeDays, renewBeforeDays, anchor: new Date(day) });
        return { windowStart: windowStart.toISOString(), renewsAfter: renewsAfter.toISOString(), expiresAt: expiresAt.toISOString() };
    });
    return { anchor, schedule };
}

/**
 * Warns in every preview when the deployed secret is due or expired, from the application as Entra holds it now:
 * a read, not the declared resource, so in a preview it still carries the deployed secret's dates. On the first
 * deployment the application's id is unknown in the preview, so nothing is read and nothing is said.
 */
function warnAboutDeployedSecret(name: string, application: azuread.Application, args: GrantArgs, parent: pulumi.Resource): void {
    const stack = args.stackName ?? pulumi.getStack();
    azuread.Application.get(`${name}-app-deployed`, application.id, undefined, { parent }).tags.apply((tags) => {
        const health = secretHealth(secretDatesFromTags(tags ?? []), args.now, stack, args.secretConsequences);
        if (health.level === "renewal-due") {
            void pulumi.log.warn(health.message, parent);
        } else if (health.level === "expired") {
            // Error level, yet not thrown: the same run is what renews the secret.
            void pulumi.log.error(health.message, parent);
        }
    });
}

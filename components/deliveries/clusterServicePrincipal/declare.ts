/**
 * Delivery by the cluster's own identity: an existing service-principal cluster is switched to the application's
 * client id and secret (the `resetServicePrincipalProfile` action, through the credential binding) and kept there.
 *
 * A managed-identity cluster cannot take this delivery, so the cluster is read first, during `pulumi preview`
 * already, and such a cluster stops the run before anything is created.
 */
import * as pulumi from "@pulumi/pulumi";
import { getManagedClusterOutput } from "@pulumi/azure-native/containerservice";
import { ClusterCredentialBinding, type ClusterCredentialBindingArgs } from "../../clusterBinding";
import { refuseRun } from "../../validation";
import { clusterIdentity, type ClusterIdentityFields } from "../../reset/clusterIdentity";

/**
 * An existing AKS cluster in tenant A to switch to the application's credentials: the binding's arguments less
 * what the component supplies (tenant, cloud, client id and secret).
 */
export type ClusterToBind = Omit<ClusterCredentialBindingArgs, "tenantId" | "azureEnvironment" | "clientId" | "secret">;

/** Where the cluster is, for messages. */
function describeCluster(cluster: Pick<ClusterToBind, "subscriptionId" | "resourceGroupName" | "clusterName">): string {
    return `AKS cluster "${cluster.clusterName}" (resource group "${cluster.resourceGroupName}", subscription "${cluster.subscriptionId}")`;
}

/**
 * Why a cluster cannot take the service-principal delivery, or undefined when it can. Pure, so every shape ARM
 * returns is tested on its own.
 */
export function servicePrincipalDeliveryProblem(
    cluster: Pick<ClusterToBind, "subscriptionId" | "resourceGroupName" | "clusterName">,
    fields: ClusterIdentityFields,
): string | undefined {
    const identity = clusterIdentity(fields);
    switch (identity.kind) {
        case "servicePrincipal":
            return undefined;
        case "managedIdentity":
            return (
                `${describeCluster(cluster)} uses a managed identity (${identity.detail}). Its credentials cannot be switched to a service principal, ` +
                "and a managed identity cannot pull from a registry in another tenant. Deliver the pull credentials as a Kubernetes image pull secret instead: " +
                "set `credentialDelivery: imagePullSecret` with `pullSecretNamespaces` in the stack config (or give CrossTenantAcrPull `imagePullSecret` instead of `cluster`). " +
                "Nothing was created."
            );
        default:
            return `${describeCluster(cluster)} reports neither a service principal client id nor a managed identity; refusing to guess which credentials it uses. Nothing was created.`;
    }
}

/**
 * Reads the cluster through `parent`'s azure-native provider (so its subscription must be the cluster's) and
 * resolves when the cluster can be switched to a service principal; rejects with a message naming the cluster and
 * the delivery to use otherwise. The read runs in previews too, so a preview fails before anything is created.
 */
export function checkClusterTakesServicePrincipal(cluster: ClusterToBind, parent: pulumi.Resource): pulumi.Output<void> {
    return getManagedClusterOutput({ resourceGroupName: cluster.resourceGroupName, resourceName: cluster.clusterName }, { parent }).apply(
        (found) => {
            const problem = servicePrincipalDeliveryProblem(cluster, {
                servicePrincipalClientId: found.servicePrincipalProfile?.clientId,
                identityType: found.identity === undefined ? undefined : (found.identity.type ?? "set"),
            });
            if (problem !== undefined) refuseRun("credential delivery", problem, parent);
        },
    );
}

/**
 * Switches `cluster` to the given credentials, after `dependsOn` (every principal and role assignment) exists, so
 * the cluster never runs on credentials that cannot pull or cannot manage its network.
 */
export function bindClusterServicePrincipal(
    name: string,
    cluster: ClusterToBind,
    source: Pick<ClusterCredentialBindingArgs, "tenantId" | "azureEnvironment" | "clientId" | "secret">,
    opts: { readonly parent: pulumi.Resource; readonly dependsOn: readonly pulumi.Resource[] },
): ClusterCredentialBinding {
    return new ClusterCredentialBinding(name, { ...cluster, ...source }, { parent: opts.parent, dependsOn: [...opts.dependsOn] });
}

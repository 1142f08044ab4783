/**
 * An explicit Kubernetes provider for one AKS cluster, never the ambient `KUBECONFIG` or current context: the same
 * rule as the tenant-pinned Azure providers, so a stale environment cannot send resources to another cluster.
 *
 * Every setting the provider would otherwise take from a `PULUMI_K8S_*` environment variable and that changes what
 * happens to the cluster is pinned here as well.
 *
 * The SDKs are required inside the functions, so importing this module (the library entry does) loads neither
 * `@pulumi/kubernetes` nor the AKS functions until a stack asks for a provider.
 */
import * as pulumi from "@pulumi/pulumi";
import type * as ContainerService from "@pulumi/azure-native/containerservice";
import type { Provider as AzureNativeProvider } from "@pulumi/azure-native/provider";
import type * as KubernetesProviderModule from "@pulumi/kubernetes/provider";
import type { Provider as KubernetesProvider } from "@pulumi/kubernetes/provider";

export interface ClusterKubernetesProviderArgs {
    /** Subscription of the AKS cluster. */
    readonly subscriptionId: string;
    /** Resource group of the AKS cluster. */
    readonly resourceGroupName: string;
    /** Name of the AKS cluster. */
    readonly clusterName: string;
    /**
     * Contents of a kubeconfig for the cluster (kept secret). When absent, the cluster's user credentials are read
     * with the AKS `listClusterUserCredential` action through `azureNative`.
     */
    readonly kubeconfig?: pulumi.Input<string>;
    /** The cluster tenant's azure-native provider, whose subscription is the cluster's; needed without `kubeconfig`. */
    readonly azureNative?: AzureNativeProvider;
}

/** The ARM id of the cluster: what identifies it for the provider, whatever kubeconfig reaches it. */
export function clusterResourceId(
    args: Pick<ClusterKubernetesProviderArgs, "subscriptionId" | "resourceGroupName" | "clusterName">,
): string {
    return `/subscriptions/${args.subscriptionId}/resourceGroups/${args.resourceGroupName}/providers/Microsoft.ContainerService/managedClusters/${args.clusterName}`;
}

/**
 * The kubeconfig of the cluster's user credentials, decoded. `format: "exec"` makes Entra-integrated clusters
 * return a kubeconfig that calls `kubelogin` (the legacy `azure` auth provider is gone from client-go); clusters
 * with local accounts ignore it.
 */
export function clusterUserKubeconfig(
    args: Pick<ClusterKubernetesProviderArgs, "resourceGroupName" | "clusterName">,
    azureNative: AzureNativeProvider,
    parent?: pulumi.Resource,
): pulumi.Output<string> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { listManagedClusterUserCredentialsOutput } = require("@pulumi/azure-native/containerservice") as typeof ContainerService;
    const credentials = listManagedClusterUserCredentialsOutput(
        { resourceGroupName: args.resourceGroupName, resourceName: args.clusterName, format: "exec" },
        { provider: azureNative, parent },
    );
    return pulumi.secret(
        credentials.apply((result) => {
            const encoded = result.kubeconfigs[0]?.value;
            if (!encoded) {
                throw new pulumi.RunError(
                    `AKS returned no user kubeconfig for cluster "${args.clusterName}" (resource group "${args.resourceGroupName}").`,
                );
            }
            return Buffer.from(encoded, "base64").toString("utf8");
        }),
    );
}

/** One AKS cluster as the cluster-side deliveries reach it: its Kubernetes provider and the kubeconfig it uses. */
export interface ClusterConnection {
    readonly provider: KubernetesProvider;
    /** The provider's kubeconfig (a secret), for what the delivery sends itself: the same cluster, the same user. */
    readonly kubeconfig: pulumi.Output<string>;
}

/**
 * Declares the Kubernetes provider of one AKS cluster, named `name`: an explicit kubeconfig (given, or the
 * cluster's user credentials), the cluster's ARM id as `clusterIdentifier` (a refreshed kubeconfig updates the
 * provider instead of replacing everything it manages), server-side apply without forced conflicts, Secrets that
 * update in place (a rotated secret must not delete and recreate the pull secret), no upsert of objects this stack
 * did not create, and no silent dropping of state when the cluster is unreachable. Returns it with its kubeconfig.
 */
export function clusterConnection(
    name: string,
    args: ClusterKubernetesProviderArgs,
    opts?: pulumi.CustomResourceOptions,
): ClusterConnection {
    let kubeconfig: pulumi.Output<string>;
    if (args.kubeconfig !== undefined) {
        kubeconfig = pulumi.secret(args.kubeconfig);
    } else if (args.azureNative !== undefined) {
        kubeconfig = clusterUserKubeconfig(args, args.azureNative, opts?.parent);
    } else {
        throw new Error(`clusterKubernetesProvider "${name}" needs either kubeconfig or the cluster tenant's azure-native provider`);
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { Provider } = require("@pulumi/kubernetes/provider") as typeof KubernetesProviderModule;
    const provider = new Provider(
        name,
        {
            kubeconfig,
            clusterIdentifier: clusterResourceId(args),
            enableServerSideApply: true,
            enablePatchForce: false,
            enableSecretMutable: true,
            upsertExistingObjects: false,
            deleteUnreachable: false,
            skipUpdateUnreachable: false,
        },
        opts,
    );
    return { provider, kubeconfig };
}

/** The provider of `clusterConnection` alone, for stacks that declare Kubernetes resources of their own with it. */
export function clusterKubernetesProvider(
    name: string,
    args: ClusterKubernetesProviderArgs,
    opts?: pulumi.CustomResourceOptions,
): KubernetesProvider {
    return clusterConnection(name, args, opts).provider;
}

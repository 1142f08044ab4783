/**
 * The rig's cluster as the test stacks reach it: the product's own `clusterConnection`, with the stack's kubeconfig
 * and placeholder ARM coordinates (the rig has no ARM; they only name the cluster to the provider).
 */
import * as pulumi from "@pulumi/pulumi";
import { clusterConnection, type ClusterConnection } from "../../../components/pullSecretTarget/kubernetesProvider";

export function rigCluster(name: string, parent: pulumi.Resource): ClusterConnection {
    return clusterConnection(
        `${name}-cluster`,
        {
            subscriptionId: "00000000-0000-4000-8000-000000000000",
            resourceGroupName: "rig",
            clusterName: "rig",
            kubeconfig: new pulumi.Config().requireSecret("kubeconfig"),
        },
        { parent },
    );
}

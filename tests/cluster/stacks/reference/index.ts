/**
 * Test stack: one ServiceAccountPullSecret per listed service account (`namespace/name`), against the rig's API
 * server, through the stack's kubeconfig.
 */
import * as pulumi from "@pulumi/pulumi";
import { ServiceAccountPullSecret } from "../../../../components/delivery/serviceAccountPullSecret";

const config = new pulumi.Config();
const kubeconfig = config.requireSecret("kubeconfig");
const secretName = config.get("secretName") ?? "acr-cross-tenant-pull";

export const added: Record<string, pulumi.Output<boolean>> = {};
for (const target of config.requireObject<string[]>("serviceAccounts")) {
    const [namespace, serviceAccount] = target.split("/");
    const reference = new ServiceAccountPullSecret(`${namespace}-${serviceAccount}`, { kubeconfig, namespace, serviceAccount, secretName });
    added[target] = reference.added;
}

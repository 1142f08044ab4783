/**
 * Test stack: one ServiceAccountPullSecret per listed service account (`namespace/name`), against the rig's API
 * server, all through one references' provider holding the stack's kubeconfig.
 */
import * as pulumi from "@pulumi/pulumi";
import { ServiceAccountPullSecret } from "../../../../components/pullSecretTarget/serviceAccountPullSecret";
import { ServiceAccountPullSecretProvider } from "../../../../components/pullSecretTarget/serviceAccountPullSecretProvider";

const config = new pulumi.Config();
const kubeconfig = config.requireSecret("kubeconfig");
const secretName = config.get("secretName") ?? "acr-cross-tenant-pull";
const provider = new ServiceAccountPullSecretProvider("rig-references", { kubeconfig });

export const added: Record<string, pulumi.Output<boolean>> = {};
for (const target of config.requireObject<string[]>("serviceAccounts")) {
    const [namespace, serviceAccount] = target.split("/");
    const reference = new ServiceAccountPullSecret(
        `${namespace}-${serviceAccount}`,
        { namespace, serviceAccount, secretName },
        { provider },
    );
    added[target] = reference.added;
}

/**
 * Test stack: the library's image pull secret delivery, exactly as the component declares it, against the rig's API
 * server. A fixed client id and secret from the stack's config stand in for the grant, whose Azure providers cannot
 * reach Azure from the rig.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkPullSecretTargets, deliverPullSecret } from "../../../../components/delivery/imagePullSecret";
import { clusterKubernetesProvider } from "../../../../components/delivery/kubernetesProvider";

const config = new pulumi.Config();
const namespaces = config.requireObject<string[]>("namespaces");
const serviceAccounts = config.getObject<string[]>("serviceAccounts") ?? ["default"];
const secretName = config.get("secretName") ?? "acr-cross-tenant-pull";

class PullSecretUnderTest extends pulumi.ComponentResource {
    readonly pullSecretRefs: string[];

    constructor(name: string) {
        super("aks-acr-cross-tenant:test:PullSecretUnderTest", name, {}, {});
        const provider = clusterKubernetesProvider(
            `${name}-cluster`,
            {
                subscriptionId: "00000000-0000-4000-8000-000000000000",
                resourceGroupName: "rig",
                clusterName: "rig",
                kubeconfig: config.requireSecret("kubeconfig"),
            },
            { parent: this },
        );
        const targets = checkPullSecretTargets(name, { provider, namespaces, serviceAccounts }, secretName, serviceAccounts, this);
        const delivered = deliverPullSecret(
            name,
            targets,
            {
                // In the component the grant waits for the targets' check; so do the stand-ins.
                clientId: targets.ready.apply(() => config.require("clientId")),
                secret: targets.ready.apply(() => config.requireSecret("clientSecret")),
                loginServers: config.requireObject<string[]>("loginServers"),
            },
            { parent: this, dependsOn: [] },
        );
        this.pullSecretRefs = [...delivered.refs];
        this.registerOutputs({ pullSecretRefs: this.pullSecretRefs });
    }
}

const delivery = new PullSecretUnderTest("rig");
export const pullSecretRefs = delivery.pullSecretRefs;

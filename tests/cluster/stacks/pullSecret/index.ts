/**
 * Test stack: the library's image pull secret delivery, exactly as the component declares it, against the rig's API
 * server. A fixed client id and secret from the stack's config stand in for the grant, whose Azure providers cannot
 * reach Azure from the rig.
 *
 * With `formerDelivery: true` it declares instead what earlier versions did (the same Secrets, and a server-side-apply
 * `ServiceAccountPatch` of `[ours]` per service account, under the same names), so a test can deploy that and then
 * upgrade the stack to the current delivery.
 */
import * as pulumi from "@pulumi/pulumi";
import { Secret, ServiceAccountPatch } from "@pulumi/kubernetes/core/v1";
import { checkPullSecretTargets, deliverPullSecret } from "../../../../components/delivery/imagePullSecret";
import { rigCluster } from "../rigCluster";
import { dockerConfigJson, type PullSecretTarget } from "../../../../components/delivery/dockerConfig";

const config = new pulumi.Config();
const namespaces = config.requireObject<string[]>("namespaces");
const target: PullSecretTarget = config.get<PullSecretTarget>("target") ?? "serviceAccounts";
const serviceAccounts = target === "pods" ? [] : (config.getObject<string[]>("serviceAccounts") ?? ["default"]);
const secretName = config.get("secretName") ?? "acr-cross-tenant-pull";
const former = config.getBoolean("formerDelivery") ?? false;
const loginServers = config.requireObject<string[]>("loginServers");

class PullSecretUnderTest extends pulumi.ComponentResource {
    readonly pullSecretRefs: string[];

    constructor(name: string) {
        super("aks-acr-cross-tenant:test:PullSecretUnderTest", name, {}, {});
        const cluster = rigCluster(name, this);
        if (former) {
            this.pullSecretRefs = formerDelivery(name, cluster.provider, this);
        } else {
            const targets = checkPullSecretTargets(
                name,
                { ...cluster, namespaces, serviceAccounts, target },
                secretName,
                serviceAccounts,
                this,
            );
            const delivered = deliverPullSecret(
                name,
                targets,
                {
                    // In the component the grant waits for the targets' check; so do the stand-ins.
                    clientId: targets.ready.apply(() => config.require("clientId")),
                    secret: targets.ready.apply(() => config.requireSecret("clientSecret")),
                    loginServers,
                },
                { parent: this, dependsOn: [] },
            );
            this.pullSecretRefs = [...delivered.refs];
        }
        this.registerOutputs({ pullSecretRefs: this.pullSecretRefs });
    }
}

/** What versions before ServiceAccountPullSecret declared, resource for resource. */
function formerDelivery(name: string, provider: pulumi.ProviderResource, parent: pulumi.Resource): string[] {
    const document = config
        .requireSecret("clientSecret")
        .apply((secret) => Buffer.from(dockerConfigJson(loginServers, config.require("clientId"), secret), "utf8").toString("base64"));
    for (const namespace of namespaces) {
        const secret = new Secret(
            `${name}-${namespace}-pull-secret`,
            {
                metadata: {
                    name: secretName,
                    namespace,
                    labels: { "app.kubernetes.io/managed-by": "pulumi", "app.kubernetes.io/part-of": "aks-acr-cross-tenant" },
                    annotations: { "aks-acr-cross-tenant/application-client-id": config.require("clientId") },
                },
                type: "kubernetes.io/dockerconfigjson",
                data: { ".dockerconfigjson": pulumi.secret(document) },
            },
            { parent, provider },
        );
        for (const account of serviceAccounts) {
            new ServiceAccountPatch(
                `${name}-${namespace}-${account}-image-pull-secret`,
                { metadata: { name: account, namespace }, imagePullSecrets: [{ name: secretName }] },
                { parent, provider, dependsOn: [secret] },
            );
        }
    }
    return namespaces.map((namespace) => `${namespace}/${secretName}`);
}

const delivery = new PullSecretUnderTest("rig");
export const pullSecretRefs = delivery.pullSecretRefs;

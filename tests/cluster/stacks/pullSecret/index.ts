/**
 * Test stack: the library's image pull secret delivery, exactly as the component declares it, against the rig's API
 * server. A fixed client id and secret from the stack's config stand in for the grant, whose Azure providers cannot
 * reach Azure from the rig.
 *
 * The grant stands in as one resource that holds the client id, registered the way the component registers the
 * application (`heldUntil` the delivery's checks), which every Secret depends on as on the grant's principals and
 * roles. `createdNamespaces` are namespaces the stack creates itself and passes in `dependsOn`, as a library user
 * would.
 *
 * With `formerDelivery: true` it declares instead what earlier versions did (the same Secrets, and a server-side-apply
 * `ServiceAccountPatch` of `[ours]` per service account, under the same names), so a test can deploy that and then
 * upgrade the stack to the current delivery.
 */
import * as pulumi from "@pulumi/pulumi";
import { Namespace, Secret, ServiceAccountPatch } from "@pulumi/kubernetes/core/v1";
import { checkPullSecretTargets, deliverPullSecret } from "../../../../components/deliveries/imagePullSecret/declare";
import { heldUntil } from "../../../../components/registrationHold";
import { rigCluster } from "../rigCluster";
import { dockerConfigJson } from "../../../../components/deliveries/imagePullSecret/dockerConfig";
import type { PullSecretTarget } from "../../../../components/pullSecretTarget/settings";

const config = new pulumi.Config();
const namespaces = config.requireObject<string[]>("namespaces");
const target: PullSecretTarget = config.get<PullSecretTarget>("target") ?? "serviceAccounts";
const serviceAccounts = target === "pods" ? [] : (config.getObject<string[]>("serviceAccounts") ?? ["default"]);
const secretName = config.get("secretName") ?? "acr-cross-tenant-pull";
const former = config.getBoolean("formerDelivery") ?? false;
const loginServers = config.requireObject<string[]>("loginServers");
const createdNamespaces = config.getObject<string[]>("createdNamespaces") ?? [];

/**
 * The stand-in grant's provider, explicit and declared first, as the component's Azure providers are
 * (`tenantProviders`): the engine starts its process while the program still runs.
 */
class StandInGrantProvider extends pulumi.ProviderResource {
    constructor(name: string) {
        super("pulumi-nodejs", name, {});
    }
}
const grantProvider = new StandInGrantProvider("rig-grant-provider");

/** What the grant's application is to the delivery: a resource holding the client id, created before the Secrets. */
class StandInGrant extends pulumi.dynamic.Resource {
    declare public readonly clientId: pulumi.Output<string>;

    constructor(name: string, clientId: string, opts: pulumi.CustomResourceOptions) {
        super(
            {
                async create(inputs: { clientId: string }) {
                    return { id: "stand-in-grant", outs: inputs };
                },
            },
            name,
            { clientId },
            { provider: grantProvider, ...opts },
        );
    }
}

class PullSecretUnderTest extends pulumi.ComponentResource {
    readonly pullSecretRefs: string[];

    constructor(name: string) {
        super("aks-acr-cross-tenant:test:PullSecretUnderTest", name, {}, {});
        const cluster = rigCluster(name, this);
        if (former) {
            this.pullSecretRefs = formerDelivery(name, cluster.provider, this);
        } else {
            const created = createdNamespaces.map(
                (namespace) =>
                    new Namespace(`${name}-${namespace}`, { metadata: { name: namespace } }, { parent: this, provider: cluster.provider }),
            );
            const targets = checkPullSecretTargets(
                name,
                { ...cluster, namespaces, serviceAccounts, target, dependsOn: created },
                secretName,
                serviceAccounts,
                this,
            );
            // As in the component: the grant waits for every check to pass, then the Secrets wait for the grant.
            const grant = new StandInGrant(`${name}-grant`, config.require("clientId"), { parent: this, ...heldUntil(targets.ready) });
            const delivered = deliverPullSecret(
                name,
                targets,
                { clientId: grant.clientId, secret: config.requireSecret("clientSecret"), loginServers },
                { parent: this, dependsOn: [grant] },
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
    // Earlier versions had the grant too: the same stand-in, so an upgrade leaves it as it is.
    const grant = new StandInGrant(`${name}-grant`, config.require("clientId"), { parent });
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
            { parent, provider, dependsOn: [grant] },
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

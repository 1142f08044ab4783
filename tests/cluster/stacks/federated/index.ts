/**
 * Test stack: the federated delivery's cluster side, exactly as the component declares it, against the rig's API
 * server. A fixed client id, tenant and issuer stand in for the grant and for the AKS read, which cannot reach Azure
 * from the rig.
 */
import * as pulumi from "@pulumi/pulumi";
import { checkPullSecretTargets } from "../../../../components/deliveries/imagePullSecret/declare";
import { deliverFederatedPullSecret, withEsoCheck } from "../../../../components/deliveries/federatedPullSecret/declare";
import { rigCluster } from "../rigCluster";
import type { PullSecretTarget } from "../../../../components/pullSecretTarget/settings";

const config = new pulumi.Config();
const namespaces = config.requireObject<string[]>("namespaces");
const target: PullSecretTarget = config.get<PullSecretTarget>("target") ?? "serviceAccounts";
const serviceAccounts = target === "pods" ? [] : (config.getObject<string[]>("serviceAccounts") ?? ["default"]);
const secretName = config.get("secretName") ?? "acr-cross-tenant-pull";

class FederatedUnderTest extends pulumi.ComponentResource {
    readonly refs: readonly string[];

    constructor(name: string) {
        super("aks-acr-cross-tenant:test:FederatedUnderTest", name, {}, {});
        const cluster = rigCluster(name, this);
        const base = checkPullSecretTargets(name, { ...cluster, namespaces, serviceAccounts, target }, secretName, serviceAccounts, this);
        const checked = withEsoCheck(base, pulumi.output(config.require("issuer")), this);
        const delivered = deliverFederatedPullSecret(
            name,
            checked,
            {
                // In the component the grant waits for the checks; so does the stand-in.
                clientId: checked.targets.ready.apply(() => config.require("clientId")),
                registryTenantId: config.require("registryTenantId"),
                environment: "public",
                registries: config.requireObject<{ registryName: string; loginServer: string }[]>("registries"),
            },
            { minter: config.get("minter") ?? "acr-token-minter", refreshInterval: config.get("refreshInterval") ?? "1h" },
            { parent: this, dependsOn: [] },
        );
        this.refs = delivered.refs;
        this.registerOutputs({ refs: this.refs });
    }
}

export const refs = new FederatedUnderTest("rig").refs;

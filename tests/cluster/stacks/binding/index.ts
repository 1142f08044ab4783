/**
 * Test stack: the cluster binding under the real engine, against the fake ARM server the test runs (which is also the
 * Entra authority). The engine serializes the dynamic provider into the state and a separate provider host process
 * loads and runs it.
 */
import * as pulumi from "@pulumi/pulumi";
import { ClusterCredentialBinding, type BindingDeletePolicy } from "../../../../components/clusterBinding";

const config = new pulumi.Config();
const endpoint = config.require("armEndpoint");

const binding = new ClusterCredentialBinding("rig-binding", {
    subscriptionId: config.require("subscriptionId"),
    resourceGroupName: config.require("resourceGroupName"),
    clusterName: config.require("clusterName"),
    tenantId: config.require("tenantId"),
    clientId: config.require("clientId"),
    secret: config.requireSecret("secret"),
    deletePolicy: config.get<BindingDeletePolicy>("deletePolicy") ?? "refuse",
    signIn: { clientId: config.require("signInClientId"), clientSecret: config.requireSecret("signInClientSecret") },
    armEndpoint: endpoint,
    authorityHost: endpoint,
    pollIntervalSeconds: 0.05,
    timeoutMinutes: 1,
});

export const clusterClientId = binding.clusterClientId;

/**
 * The secret's life with a controlled clock: stable inside a rotation window, renewed in the next one with the
 * cluster switched by an update of its binding, the old password kept until then, and the messages a preview
 * prints when renewal is due or the secret has expired.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { CrossTenantAcrPull as CrossTenantAcrPullType } from "../components/crossTenantAcrPull";
import { clusterCredentialBindingProvider, type BindingState } from "../components/clusterBinding";
import type { DeployedSecretDates } from "../components/secretHealth";
import { RecordingMocks, SUB_A, SUB_B1, TENANT_A, TENANT_B, installMocks, promiseOf, registryId, settle, unwrapSecret } from "./mocks";

const DAY = 86_400_000;
const T0 = new Date("2026-11-28T10:00:00Z");

interface Evaluation {
    readonly mocks: RecordingMocks;
    readonly component: CrossTenantAcrPullType;
    readonly password: Record<string, unknown>;
    readonly binding: Record<string, unknown>;
    readonly options: Map<string, pulumi.ResourceTransformationArgs>;
    readonly warnings: string[];
    readonly errors: string[];
}

/** Evaluates the component as one `pulumi preview`/`up` would at `now`, with the given deployed secret. */
async function evaluate(now: Date, deployedSecret: DeployedSecretDates = {}): Promise<Evaluation> {
    const mocks = await installMocks("prod");
    const { CrossTenantAcrPull, tenantProviders } = await import("../components");
    const options = new Map<string, pulumi.ResourceTransformationArgs>();
    const warnings: string[] = [];
    const errors: string[] = [];
    const log = pulumi.log as { warn: typeof pulumi.log.warn; error: typeof pulumi.log.error };
    const original = { warn: log.warn, error: log.error };
    log.warn = async (message: string) => void warnings.push(message);
    log.error = async (message: string) => void errors.push(message);
    try {
        const clusterTenant = tenantProviders("a", { tenantId: TENANT_A, subscriptionId: SUB_A, environment: "public" });
        const registryTenant = tenantProviders("b", { tenantId: TENANT_B, subscriptionId: SUB_B1, environment: "public" });
        const component = new CrossTenantAcrPull(
            "pull",
            {
                clusterTenantId: TENANT_A,
                registryTenantId: TENANT_B,
                registryIds: [registryId(SUB_B1, "rg", "contosoimages")],
                applicationName: "aks-prod-acr-pull-prod",
                registryTenantProviders: registryTenant,
                secretLifetimeDays: 180,
                secretRenewBeforeDays: 30,
                clock: () => now,
                deployedSecret,
                cluster: { subscriptionId: SUB_A, resourceGroupName: "rg-aks", clusterName: "aks-prod" },
            },
            {
                providers: [clusterTenant.azuread, clusterTenant.azureNative],
                transformations: [
                    (args) => {
                        options.set(args.name, args);
                        return undefined;
                    },
                ],
            },
        );
        await promiseOf(pulumi.all([component.servicePrincipalProfile, component.roleAssignmentIds, component.clusterBinding!.id]));
        await settle();
        return {
            mocks,
            component,
            password: mocks.named("pull-secret").inputs,
            binding: mocks.named("pull-cluster-binding").inputs,
            options,
            warnings,
            errors,
        };
    } finally {
        log.warn = original.warn;
        log.error = original.error;
    }
}

/** What the stack's outputs hold after an evaluation was deployed. */
async function deployedAfter(evaluation: Evaluation): Promise<Required<DeployedSecretDates>> {
    return {
        expiresAt: await promiseOf(evaluation.component.secretExpiresAt),
        renewsAfter: await promiseOf(evaluation.component.secretRenewsAfter),
        windowAnchor: await promiseOf(evaluation.component.secretWindowAnchor),
    };
}

/** The binding's state as the provider would see it (secrets unwrapped, serialized provider dropped). */
function bindingState(inputs: Record<string, unknown>): BindingState {
    const plain = Object.fromEntries(
        Object.entries(inputs)
            .filter(([key]) => key !== "__provider")
            .map(([key, value]) => [key, unwrapSecret(value)]),
    );
    return plain as unknown as BindingState;
}

describe("secret rotation with a controlled clock", () => {
    it("gives a new stack's first secret a full window, counted from its first deployment", async () => {
        const first = await evaluate(T0);
        const deployed = await deployedAfter(first);
        assert.equal(deployed.windowAnchor, "2026-11-28T00:00:00.000Z");
        assert.equal(deployed.renewsAfter, new Date(Date.parse(deployed.windowAnchor) + 150 * DAY).toISOString());
        assert.equal(first.password.endDate, new Date(Date.parse(deployed.windowAnchor) + 180 * DAY).toISOString());
    });

    it("changes nothing and says nothing while the secret is outside its renewal window", async () => {
        const first = await evaluate(T0);
        const deployed = await deployedAfter(first);
        const laterTimes = [T0.getTime() + 3_600_000, T0.getTime() + 7 * DAY, Date.parse(deployed.renewsAfter) - 1];
        for (const later of laterTimes) {
            const again = await evaluate(new Date(later), deployed);
            assert.deepEqual(again.password, first.password, `password inputs moved at ${new Date(later).toISOString()}`);
            assert.deepEqual(bindingState(again.binding), bindingState(first.binding));
            assert.deepEqual([again.warnings, again.errors], [[], []]);
        }
    });

    it("inside the renewal window mints a new password and switches the cluster by an update of its binding", async () => {
        const first = await evaluate(T0);
        const deployed = await deployedAfter(first);
        const renewalTime = new Date(Date.parse(deployed.renewsAfter) + 3_600_000);
        const renewed = await evaluate(renewalTime, deployed);

        // Every ApplicationPassword argument forces a replacement: a new end date is a new password.
        assert.notEqual(renewed.password.endDate, first.password.endDate);
        assert.notEqual(renewed.password.displayName, first.password.displayName);
        const lifetime = Date.parse(String(renewed.password.endDate)) - renewalTime.getTime();
        assert.ok(lifetime > 30 * DAY && lifetime <= 180 * DAY, `new secret lives ${lifetime / DAY} days`);
        assert.equal(
            await promiseOf(renewed.component.secretRenewsAfter),
            new Date(Date.parse(deployed.renewsAfter) + 150 * DAY).toISOString(),
        );

        // The binding keeps its name and target; only the secret changes, which its provider treats as an update.
        const olds = { ...bindingState(first.binding), clusterClientId: String(first.binding.clientId) };
        const news = bindingState(renewed.binding);
        assert.notEqual(news.secret, olds.secret);
        assert.deepEqual(await clusterCredentialBindingProvider.diff!("id", olds, news), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });

        assert.equal(renewed.warnings.length, 1);
        assert.match(renewed.warnings[0], new RegExp(`expires on ${deployed.expiresAt.slice(0, 10)}.*pulumi up --stack prod`));
        assert.deepEqual(renewed.errors, []);
    });

    it("keeps the old password until the cluster has switched", async () => {
        const { options, mocks } = await evaluate(T0);
        const passwordOptions = options.get("pull-secret")?.opts as pulumi.CustomResourceOptions;
        // Create-before-delete (no deleteBeforeReplace): the engine creates the new password, updates what
        // depends on it, and deletes the replaced password only at the end of the update.
        assert.ok(!passwordOptions.deleteBeforeReplace, "deleteBeforeReplace would delete the working secret first");
        assert.ok(!passwordOptions.retainOnDelete, "an old password left behind would stay valid until it expires");
        // The binding depends on the password through its secret input, so it is updated after the new password exists.
        const secretInput = options.get("pull-cluster-binding")?.props.secret as pulumi.Output<string>;
        // `resources()` is the SDK's internal record of an output's dependencies.
        const dependencies = await (secretInput as unknown as { resources(): Promise<Set<pulumi.Resource>> }).resources();
        const names = [...dependencies].map((resource) => (resource as unknown as { __name: string }).__name);
        assert.ok(names.includes("pull-secret"), `the binding's secret does not depend on the password: ${names.join(", ")}`);
        assert.equal(mocks.ofType("pulumi-nodejs:dynamic/aks-acr-cross-tenant:ClusterCredentialBinding").length, 1);
    });

    it("reports an expired secret at error level, naming the date and the command", async () => {
        const first = await evaluate(T0);
        const deployed = await deployedAfter(first);
        const expired = await evaluate(new Date(Date.parse(deployed.expiresAt) + DAY), deployed);
        assert.deepEqual(expired.warnings, []);
        assert.equal(expired.errors.length, 1);
        assert.match(expired.errors[0], new RegExp(`expired on ${deployed.expiresAt.slice(0, 10)}.*Run \`pulumi up --stack prod\` now`));
        // The same run renews it: a fresh secret, valid from now.
        assert.ok(Date.parse(String(expired.password.endDate)) > Date.parse(deployed.expiresAt));
    });
});

/**
 * The secret's life with a controlled clock and the state carried from one run to the next, for a stack that only
 * imports the component: the anchor recorded on the first deployment, stable inputs inside a rotation window,
 * renewal on the first run after it with the cluster switched by an update, the old password kept until then, and
 * the messages a preview prints when renewal is due or the secret has expired.
 */
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import type { CrossTenantAcrPull as CrossTenantAcrPullType, CrossTenantAcrPullArgs } from "../components/crossTenantAcrPull";
import { clusterCredentialBindingProvider, type BindingState } from "../components/clusterBinding";
import {
    RecordingMocks,
    SUB_A,
    SUB_B1,
    TENANT_A,
    TENANT_B,
    installMocks,
    promiseOf,
    registryId,
    settle,
    unwrapSecret,
    type StackState,
} from "./mocks";

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
    /** The state this run leaves, as the next run finds it. */
    readonly state: StackState;
}

/** Evaluates a stack that imports the component, as one `pulumi preview`/`up` would at `now`, from `deployed`. */
async function evaluate(now: Date, deployed: StackState = new Map(), extra: Partial<CrossTenantAcrPullArgs> = {}): Promise<Evaluation> {
    const mocks = await installMocks("prod", false, deployed);
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
                cluster: { subscriptionId: SUB_A, resourceGroupName: "rg-aks", clusterName: "aks-prod" },
                ...extra,
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
            state: mocks.snapshot(),
        };
    } finally {
        log.warn = original.warn;
        log.error = original.error;
    }
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

describe("secret rotation of a stack that only imports the component, with a controlled clock and carried state", () => {
    it("records the first deployment's day in its own state and gives the first secret a full window", async () => {
        const first = await evaluate(T0);
        assert.equal(String(await promiseOf(first.component.secretWindowAnchor)), "2026-11-28T00:00:00.000Z");
        assert.equal(
            String(await promiseOf(first.component.secretRenewsAfter)),
            new Date(Date.parse("2026-11-28T00:00:00Z") + 150 * DAY).toISOString(),
        );
        assert.equal(first.password.endDate, new Date(Date.parse("2026-11-28T00:00:00Z") + 180 * DAY).toISOString());
        const anchor = first.mocks.named("pull-secret-anchor");
        assert.deepEqual(anchor.inputs.keepers, { firstSecretDay: "2026-11-28T00:00:00.000Z" });
        const anchorOptions = first.options.get("pull-secret-anchor")?.opts as pulumi.CustomResourceOptions;
        assert.deepEqual(anchorOptions.ignoreChanges, ["keepers"], "the anchor must not move with the clock");
        // The application carries the secret's dates for the next run's preview.
        assert.deepEqual(first.mocks.named("pull-app").inputs.tags, [
            `aks-acr-cross-tenant:secret-expires-at=${String(first.password.endDate)}`,
            `aks-acr-cross-tenant:secret-renews-after=${String(await promiseOf(first.component.secretRenewsAfter))}`,
        ]);
        assert.deepEqual([first.warnings, first.errors], [[], []]);
    });

    it("changes nothing and says nothing an hour, a week and a day before renewal", async () => {
        const first = await evaluate(T0);
        const renewsAfter = Date.parse(String(await promiseOf(first.component.secretRenewsAfter)));
        for (const later of [T0.getTime() + 3_600_000, T0.getTime() + 7 * DAY, renewsAfter - DAY, renewsAfter - 1]) {
            // A run on a later day: the anchor keeper it declares moves with the clock, the recorded one does not.
            const again = await evaluate(new Date(later), first.state);
            assert.equal(String(await promiseOf(again.component.secretWindowAnchor)), "2026-11-28T00:00:00.000Z");
            assert.deepEqual(again.password, first.password, `password inputs moved at ${new Date(later).toISOString()}`);
            assert.deepEqual(bindingState(again.binding), bindingState(first.binding));
            assert.deepEqual([again.warnings, again.errors], [[], []]);
        }
    });

    it("a day after renewal is due: mints a new password, switches the cluster by an update, and the preview warns", async () => {
        const first = await evaluate(T0);
        const deployedExpiry = String(first.password.endDate);
        const renewsAfter = String(await promiseOf(first.component.secretRenewsAfter));
        const renewalTime = new Date(Date.parse(renewsAfter) + DAY);
        const renewed = await evaluate(renewalTime, first.state);

        // Every ApplicationPassword argument forces a replacement: a new end date is a new password.
        assert.notEqual(renewed.password.endDate, first.password.endDate);
        assert.equal(renewed.password.endDate, new Date(Date.parse(renewsAfter) + 180 * DAY).toISOString());
        assert.equal(
            String(await promiseOf(renewed.component.secretRenewsAfter)),
            new Date(Date.parse(renewsAfter) + 150 * DAY).toISOString(),
        );

        // The binding keeps its name and target; only the secret changes, which its provider treats as an update.
        const olds = { ...bindingState(first.binding), clusterClientId: String(first.binding.clientId) };
        const news = bindingState(renewed.binding);
        assert.notEqual(news.secret, olds.secret);
        assert.deepEqual(await clusterCredentialBindingProvider.diff("id", olds, news), {
            changes: true,
            replaces: [],
            deleteBeforeReplace: false,
        });

        assert.equal(renewed.warnings.length, 1, renewed.warnings.join("\n"));
        assert.match(
            renewed.warnings[0],
            new RegExp(
                `expires on ${deployedExpiry.slice(0, 10)} and has been due for renewal since ${renewsAfter.slice(0, 10)}.*pulumi up --stack prod`,
            ),
        );
        // Worded by the delivery that holds the secret (its folder's secretConsequences), here the cluster's own.
        assert.match(renewed.warnings[0], /mints a new secret, switches the cluster to it and then deletes the old one/);
        assert.deepEqual(renewed.errors, []);

        // Once that run is deployed, the next one finds the new dates and says nothing.
        const after = await evaluate(new Date(renewalTime.getTime() + DAY), renewed.state);
        assert.deepEqual(after.password, renewed.password);
        assert.deepEqual([after.warnings, after.errors], [[], []]);
    });

    it("after an expiry: reports it at error level, naming the date and the command, and renews in the same run", async () => {
        const first = await evaluate(T0);
        const deployedExpiry = String(first.password.endDate);
        const expired = await evaluate(new Date(Date.parse(deployedExpiry) + DAY), first.state);
        assert.deepEqual(expired.warnings, []);
        assert.equal(expired.errors.length, 1);
        assert.match(expired.errors[0], new RegExp(`expired on ${deployedExpiry.slice(0, 10)}.*Run \`pulumi up --stack prod\` now`));
        assert.ok(Date.parse(String(expired.password.endDate)) > Date.parse(deployedExpiry));
        assert.equal(String(await promiseOf(expired.component.secretWindowAnchor)), "2026-11-28T00:00:00.000Z");
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

    it("records an upgraded stack's old anchor once, and ignores the argument afterwards", async () => {
        const upgraded = await evaluate(T0, new Map(), { initialSecretWindowAnchor: "2026-07-02" });
        assert.equal(String(await promiseOf(upgraded.component.secretWindowAnchor)), "2026-07-02T00:00:00.000Z");
        // 150-day windows from 2026-07-02: the upgrade keeps the deployed secret until 2026-11-29.
        assert.equal(String(await promiseOf(upgraded.component.secretRenewsAfter)), "2026-11-29T00:00:00.000Z");
        const later = await evaluate(new Date(T0.getTime() + 7 * DAY), upgraded.state, { initialSecretWindowAnchor: "2026-08-15" });
        assert.equal(String(await promiseOf(later.component.secretWindowAnchor)), "2026-07-02T00:00:00.000Z");
        await assert.rejects(
            (async () => evaluate(T0, new Map(), { initialSecretWindowAnchor: "2027-01-01" }))(),
            /initialSecretWindowAnchor: got "2027-01-01"; expected an ISO 8601 date no later than today/,
        );
    });
});

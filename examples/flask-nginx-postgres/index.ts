/**
 * The Pulumi program of examples/flask-nginx-postgres: reads the stack's configuration (Pulumi.yaml declares it, Pulumi.<stack>.yaml
 * sets it) and builds the cluster of ./cluster.ts, whose function tests and other programs call directly.
 */
import { flaskNginxPostgres, Outputs, readConfig } from "./cluster";

export = (): Outputs => flaskNginxPostgres(readConfig()).outputs;

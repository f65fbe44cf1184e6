/**
 * The repository's own Pulumi program: the flask-nginx-postgres cluster (examples/flask-nginx-postgres), with its
 * configuration read from this project's stack (Pulumi.yaml / Pulumi.<stack>.yaml next to this file).
 */
import flaskNginxPostgres = require("./examples/flask-nginx-postgres");

export = flaskNginxPostgres;

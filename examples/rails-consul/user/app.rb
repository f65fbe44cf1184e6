# The user microservice: JSON over HTTP, reading the `users` table (created by ../migrations).
# Sinatra + WEBrick + ruby-pg, all from Debian's packages (no gems are fetched).
#
# Environment: DATABASE_URL (required), PORT (default 8000), INSTANCE (replica name),
#              APP_CONFIG_DIR / CONTENT_DIR (accepted, unused).
# Endpoints:   GET /users, GET /users/:id, GET /healthz

require 'json'
require 'socket'
require 'pg'
require 'sinatra/base'

$stdout.sync = true
$stderr.sync = true

class UserService < Sinatra::Base
  INSTANCE = ENV['INSTANCE'].to_s.empty? ? Socket.gethostname : ENV['INSTANCE']
  DATABASE_URL = ENV['DATABASE_URL'].to_s
  abort 'DATABASE_URL is not set (postgresql://user:password@host:5432/dbname)' if DATABASE_URL.empty?

  COLUMNS = %q{id, name, email, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS created_at}

  configure do
    set :environment, :production
    set :server, 'webrick'
    set :bind, '0.0.0.0'
    set :port, Integer(ENV.fetch('PORT', '8000'))
    set :server_settings, AccessLog: [] # Rack's CommonLogger below already logs each request
    set :show_exceptions, false
    set :raise_errors, false
    set :dump_errors, false
    enable :logging
  end

  helpers do
    # A connection per request: simple, and it recovers by itself when Postgres restarts.
    def with_db
      conn = PG.connect(DATABASE_URL, connect_timeout: 3, application_name: "user-service-#{INSTANCE}")
      yield conn
    ensure
      conn&.close
    end

    def json(status_code, body)
      content_type :json
      status status_code
      JSON.generate(body) + "\n"
    end

    def user_row(r)
      { id: r['id'].to_i, name: r['name'], email: r['email'], created_at: r['created_at'] }
    end
  end

  before { headers 'X-Instance' => INSTANCE }

  get '/users' do
    rows = with_db { |c| c.exec("SELECT #{COLUMNS} FROM users ORDER BY id").to_a }
    json 200, rows.map { |r| user_row(r) }
  end

  get '/users/:id' do
    halt json(404, error: 'not found') unless params['id'] =~ /\A\d{1,9}\z/
    rows = with_db { |c| c.exec_params("SELECT #{COLUMNS} FROM users WHERE id = $1", [params['id'].to_i]).to_a }
    halt json(404, error: 'not found') if rows.empty?
    json 200, user_row(rows.first)
  end

  get '/healthz' do
    with_db { |c| c.exec('SELECT 1') }
    json 200, status: 'ok', instance: INSTANCE
  rescue PG::Error => e
    logger.warn("healthz: #{e.message.strip}")
    json 503, status: 'unavailable', instance: INSTANCE
  end

  error PG::Error do
    logger.error("database error: #{env['sinatra.error'].message.strip}")
    json 503, error: 'database unavailable', instance: INSTANCE
  end

  not_found { json 404, error: 'not found' }
end

UserService.run! if $PROGRAM_NAME == __FILE__

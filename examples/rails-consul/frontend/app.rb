# The frontend: renders one page from the user and catalog microservices, which it reaches by
# their DNS names (USER_SERVICE_URL, CATALOG_SERVICE_URL). It has no database of its own.
# Sinatra + WEBrick + Net::HTTP, all from Debian's packages.
#
# Environment: USER_SERVICE_URL (default http://user:8000), CATALOG_SERVICE_URL (default
#              http://catalog:8000), PORT (default 8000), INSTANCE (replica name),
#              APP_CONFIG_DIR (may hold app.json with "title"), CONTENT_DIR (accepted, unused).
# Endpoints:   GET / (HTML), GET /api/overview (the same data as JSON), GET /healthz

require 'json'
require 'net/http'
require 'socket'
require 'uri'
require 'sinatra/base'

$stdout.sync = true
$stderr.sync = true

class Frontend < Sinatra::Base
  INSTANCE = ENV['INSTANCE'].to_s.empty? ? Socket.gethostname : ENV['INSTANCE']
  USER_SERVICE_URL = ENV.fetch('USER_SERVICE_URL', 'http://user:8000').chomp('/')
  CATALOG_SERVICE_URL = ENV.fetch('CATALOG_SERVICE_URL', 'http://catalog:8000').chomp('/')
  APP_CONFIG_DIR = ENV.fetch('APP_CONFIG_DIR', '/etc/app')

  configure do
    set :environment, :production
    set :server, 'webrick'
    set :bind, '0.0.0.0'
    set :port, Integer(ENV.fetch('PORT', '8000'))
    set :server_settings, AccessLog: []
    set :show_exceptions, false
    set :raise_errors, false
    set :dump_errors, false
    enable :logging
  end

  # Fetches JSON from a service. Returns [data, nil] or [nil, "reason"]; never raises.
  def self.fetch_json(base, path)
    uri = URI.parse(base + path)
    res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == 'https',
                                              open_timeout: 2, read_timeout: 3) do |http|
      http.get(uri.request_uri, 'Accept' => 'application/json')
    end
    return [nil, "#{base}#{path} answered #{res.code}"] unless res.is_a?(Net::HTTPSuccess)
    [JSON.parse(res.body), nil]
  rescue StandardError => e
    [nil, "#{base}#{path}: #{e.class}: #{e.message}"]
  end

  # Asks both services at once (each in its own thread).
  def self.overview
    users = Thread.new { fetch_json(USER_SERVICE_URL, '/users') }
    products = Thread.new { fetch_json(CATALOG_SERVICE_URL, '/products') }
    u, p = users.value, products.value
    { users: u[0], products: p[0], errors: [u[1], p[1]].compact }
  end

  def self.title
    cfg = JSON.parse(File.read(File.join(APP_CONFIG_DIR, 'app.json')))
    cfg.is_a?(Hash) && cfg['title'] ? cfg['title'].to_s : 'Mia platform'
  rescue StandardError
    'Mia platform'
  end

  PAGE = <<~'ERB'.freeze
    <!doctype html>
    <html lang="en">
    <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title><%= h @title %></title>
      <style>
        body { font: 16px/1.5 system-ui, sans-serif; max-width: 48rem; margin: 2rem auto; padding: 0 1rem; color: #1f2328; }
        table { border-collapse: collapse; width: 100%; margin-bottom: 2rem; }
        th, td { text-align: left; padding: .3rem .6rem; border-bottom: 1px solid #d0d7de; }
        .error { color: #cf222e; } footer { color: #656d76; font-size: .85rem; }
      </style>
    </head>
    <body>
      <h1><%= h @title %></h1>
      <% @data[:errors].each do |e| %><p class="error"><%= h e %></p><% end %>
      <h2>Users</h2>
      <% if @data[:users] %>
      <table><tr><th>#</th><th>Name</th><th>Email</th></tr>
        <% @data[:users].each do |u| %><tr><td><%= h u['id'] %></td><td><%= h u['name'] %></td><td><%= h u['email'] %></td></tr><% end %>
      </table>
      <% else %><p class="error">The user service is unavailable.</p><% end %>
      <h2>Products</h2>
      <% if @data[:products] %>
      <table><tr><th>SKU</th><th>Name</th><th>Price</th></tr>
        <% @data[:products].each do |p| %><tr><td><%= h p['sku'] %></td><td><%= h p['name'] %></td><td><%= h p['price'] %> <%= h p['currency'] %></td></tr><% end %>
      </table>
      <% else %><p class="error">The catalog service is unavailable.</p><% end %>
      <footer>rendered by <code><%= h INSTANCE %></code></footer>
    </body>
    </html>
  ERB

  helpers do
    def h(value)
      Rack::Utils.escape_html(value.to_s)
    end
  end

  before { headers 'X-Instance' => INSTANCE }

  # 200 when both services answered; 502 (page still rendered) when either did not.
  get '/' do
    @title = self.class.title
    @data = self.class.overview
    status(@data[:errors].empty? ? 200 : 502)
    erb PAGE
  end

  get '/api/overview' do
    data = self.class.overview
    content_type :json
    status(data[:errors].empty? ? 200 : 502)
    JSON.generate(data.merge(instance: INSTANCE)) + "\n"
  end

  # Liveness only: the frontend has no database, and failing it when a backend is down would
  # only take the page (which reports the outage itself) away as well.
  get '/healthz' do
    content_type :json
    JSON.generate(status: 'ok', instance: INSTANCE) + "\n"
  end

  not_found do
    content_type :json
    JSON.generate(error: 'not found') + "\n"
  end
end

Frontend.run! if $PROGRAM_NAME == __FILE__

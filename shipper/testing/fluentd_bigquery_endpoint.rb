# Copied verbatim (below this note) on 2026-11-30 from the project's shared tools
# (shared/tools/fluentd/bigquery_endpoint.rb, beside the repository on the machines this project is
# built on) so that a clone alone runs the real-fluentd tests; shipper.testing.fluentd loads it with -r.
#
# bigquery_endpoint.rb -- load into fluentd with `-r PATH/bigquery_endpoint.rb` (the supervisor passes -r on
# to the worker). Points fluent-plugin-bigquery at a local BigQuery stand-in, for tests:
#   FLUENTD_BIGQUERY_URL=http://127.0.0.1:PORT   (nothing is changed when unset)
#     * Google::Apis::BigqueryV2::BigqueryService#root_url -> URL + "/" (requests go to URL/bigquery/v2/...)
#     * Signet OAuth2 token URL (json_key / private_key / ADC service account) -> URL/token
#     * GCE metadata URLs (auth_method compute_engine) -> URL/computeMetadata/...
#   FLUENTD_BIGQUERY_AUTH=none   no token request at all: a dummy bearer token.
# Nothing beyond FLUENTD_BIGQUERY_URL is contacted for BigQuery or tokens.
url = ENV['FLUENTD_BIGQUERY_URL'].to_s
unless url.empty?
  require 'google/apis/bigquery_v2'
  require 'signet/oauth_2/client'
  require 'googleauth'

  module LocalBigQueryEndpoint
    def self.base
      ENV['FLUENTD_BIGQUERY_URL'].to_s.chomp('/')
    end

    module Service
      def initialize(*args, &blk)
        super
        self.root_url = LocalBigQueryEndpoint.base + '/'
      end
    end

    module Token
      def token_credential_uri
        Addressable::URI.parse(LocalBigQueryEndpoint.base + '/token')
      end

      def fetch_access_token(options = {})
        if ENV['FLUENTD_BIGQUERY_AUTH'] == 'none'
          return { 'access_token' => 'local-none', 'expires_in' => 3600, 'token_type' => 'Bearer' }
        end
        super
      end
    end

    module GCE
      def fetch_access_token(options = {})
        if ENV['FLUENTD_BIGQUERY_AUTH'] == 'none'
          return { 'access_token' => 'local-none', 'expires_in' => 3600, 'token_type' => 'Bearer' }
        end
        super
      end
    end
  end

  Google::Apis::BigqueryV2::BigqueryService.prepend(LocalBigQueryEndpoint::Service)
  Signet::OAuth2::Client.prepend(LocalBigQueryEndpoint::Token)
  g = Google::Auth::GCECredentials
  { COMPUTE_AUTH_TOKEN_URI: '/computeMetadata/v1/instance/service-accounts/default/token',
    COMPUTE_ID_TOKEN_URI: '/computeMetadata/v1/instance/service-accounts/default/identity',
    COMPUTE_CHECK_URI: '/' }.each do |name, path|
    if g.const_defined?(name, false)
      g.send(:remove_const, name)
      g.const_set(name, (LocalBigQueryEndpoint.base + path).freeze)
    end
  end
  g.prepend(LocalBigQueryEndpoint::GCE)
  $stderr.puts "bigquery_endpoint: BigQuery API and token endpoints -> #{LocalBigQueryEndpoint.base}" \
               "#{ENV['FLUENTD_BIGQUERY_AUTH'] == 'none' ? ' (FLUENTD_BIGQUERY_AUTH=none)' : ''}"
end

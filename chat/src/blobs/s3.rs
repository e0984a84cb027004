//! The S3 client: object_store's, signing with `ring` and sending its requests through
//! deflect's own HTTP client (`provider::http_client_builder`: reqwest with rustls on `ring`
//! and compiled-in roots), so S3 adds no second TLS stack, crypto library or HTTP/2.

use crate::provider::http_client_builder;
use async_trait::async_trait;
use deflect_config::S3Config;
use http_body_util::BodyExt;
use object_store::aws::AmazonS3Builder;
use object_store::client::{
    HttpClient, HttpConnector, HttpError, HttpErrorKind, HttpRequest, HttpResponse,
    HttpResponseBody, HttpService,
};
use object_store::prefix::PrefixStore;
use object_store::{ClientConfigKey, ClientOptions, ObjectStore};
use std::sync::Arc;
use std::time::Duration;

/// The bucket of `config`, under its prefix.
pub(super) fn bucket(config: &S3Config) -> Result<Arc<dyn ObjectStore>, object_store::Error> {
    let keys = config
        .access_key_id
        .as_ref()
        .zip(config.secret_access_key.as_ref());
    // Without keys in the configuration: the standard AWS sources (variables, web identity,
    // the container's or instance's role).
    let mut builder = match keys {
        Some(_) => AmazonS3Builder::new(),
        None => AmazonS3Builder::from_env(),
    };
    builder = builder
        .with_bucket_name(&config.bucket)
        .with_region(&config.region)
        .with_allow_http(config.allow_http)
        .with_virtual_hosted_style_request(false)
        .with_http_connector(Connector);
    if let Some(endpoint) = &config.endpoint {
        builder = builder.with_endpoint(endpoint.as_str().trim_end_matches('/'));
    }
    if let Some((id, secret)) = keys {
        builder = builder
            .with_access_key_id(id)
            .with_secret_access_key(secret.expose());
    }
    let s3 = builder.build()?;
    Ok(match &config.prefix {
        Some(prefix) => Arc::new(PrefixStore::new(s3, prefix.as_str())),
        None => Arc::new(s3),
    })
}

/// Makes object_store's HTTP clients from deflect's.
#[derive(Debug)]
struct Connector;

impl HttpConnector for Connector {
    fn connect(&self, options: &ClientOptions) -> object_store::Result<HttpClient> {
        // object_store asks for plain HTTP for the instance metadata service, and for an
        // endpoint the configuration allowed it for.
        let allow_http = options
            .get_config_value(&ClientConfigKey::AllowHttp)
            .as_deref()
            == Some("true");
        let client = http_client_builder()
            .connect_timeout(Duration::from_secs(5))
            // No total timeout: a large file takes as long as it takes; a stalled one does not.
            .read_timeout(Duration::from_secs(30))
            .https_only(!allow_http)
            .build()
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(e),
            })?;
        Ok(HttpClient::new(Service(client)))
    }
}

/// One of deflect's HTTP clients, speaking object_store's request and response types.
#[derive(Debug)]
struct Service(reqwest::Client);

#[async_trait]
impl HttpService for Service {
    async fn call(&self, request: HttpRequest) -> Result<HttpResponse, HttpError> {
        let (parts, body) = request.into_parts();
        let url = reqwest::Url::parse(&parts.uri.to_string())
            .map_err(|e| HttpError::new(HttpErrorKind::Unknown, e))?;
        let mut out = reqwest::Request::new(parts.method, url);
        *out.headers_mut() = parts.headers;
        *out.body_mut() = Some(match body.as_bytes() {
            Some(bytes) => reqwest::Body::from(bytes.clone()),
            None => reqwest::Body::wrap(body),
        });
        let response = self.0.execute(out).await.map_err(classify)?;
        let response: http::Response<reqwest::Body> = response.into();
        let (parts, body) = response.into_parts();
        let body = HttpResponseBody::new(body.map_err(classify));
        Ok(HttpResponse::from_parts(parts, body))
    }
}

/// The kind object_store's retries go by: a request that never left (connect) is retried,
/// one cut short only when it is idempotent, a response that cannot be read never.
fn classify(e: reqwest::Error) -> HttpError {
    let kind = if e.is_connect() {
        HttpErrorKind::Connect
    } else if e.is_timeout() {
        HttpErrorKind::Timeout
    } else if e.is_decode() {
        HttpErrorKind::Decode
    } else if e.is_request() || e.is_body() {
        HttpErrorKind::Interrupted
    } else {
        HttpErrorKind::Unknown
    };
    // The URL is left out: object_store names the object itself where that is safe.
    HttpError::new(kind, e.without_url())
}

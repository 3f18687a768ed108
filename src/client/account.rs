//! The app-server's account: read it, log in (API key, ChatGPT in a browser, ChatGPT with a
//! device code), log out. Credentials are sent to the app-server, never kept or shown here.

use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::app_server::Client;
use super::error::{Error, Result};
use super::rpc::Routed;

/// What `account/read` says.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInfo {
    /// The signed-in account, if any.
    pub account: Option<Account>,
    /// Whether the configured model provider needs OpenAI credentials (false for a
    /// provider of your own in the Codex config).
    pub requires_openai_auth: bool,
    /// The reply exactly as sent.
    pub raw: Value,
}

/// A signed-in account (`Account`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Account {
    /// An OpenAI API key.
    ApiKey,
    /// A ChatGPT account.
    Chatgpt {
        /// Its email address, when known.
        email: Option<String>,
        /// Its plan, e.g. `plus`.
        plan_type: Option<String>,
    },
    /// Another kind (`amazonBedrock`, `gcp`, ...), by its wire `type`.
    Other(String),
}

impl Account {
    fn from_value(value: &Value) -> Option<Account> {
        let text = |key: &str| value[key].as_str().map(str::to_owned);
        match value["type"].as_str()? {
            "apiKey" => Some(Account::ApiKey),
            "chatgpt" => Some(Account::Chatgpt {
                email: text("email"),
                plan_type: text("planType"),
            }),
            other => Some(Account::Other(other.to_owned())),
        }
    }
}

/// How a login attempt ended (`account/login/completed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginCompleted {
    /// Whether the account is now signed in.
    pub success: bool,
    /// Why not, when it failed or was cancelled.
    pub error: Option<String>,
}

/// A ChatGPT login in progress: show the user [`auth_url`](LoginHandle::auth_url) (browser
/// login) or [`verification_url`](LoginHandle::verification_url) and
/// [`user_code`](LoginHandle::user_code) (device code), then [`wait`](LoginHandle::wait).
#[derive(Debug)]
pub struct LoginHandle {
    client: Client,
    /// The attempt's id.
    pub login_id: String,
    /// Browser login: the URL to open.
    pub auth_url: Option<String>,
    /// Device-code login: where to enter the code.
    pub verification_url: Option<String>,
    /// Device-code login: the one-time code.
    pub user_code: Option<String>,
    notifications: broadcast::Receiver<Routed>,
}

impl LoginHandle {
    /// Wait until this attempt completes, succeeds or not.
    pub async fn wait(mut self) -> Result<LoginCompleted> {
        loop {
            let (method, params) = match self.notifications.recv().await {
                Ok(Routed::Notification { method, params }) => (method, params),
                Ok(Routed::Closed(reason)) => return Err(reason.into()),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return Err(Error::Closed),
            };
            let mine = params["loginId"].as_str() == Some(self.login_id.as_str());
            if method == "account/login/completed" && mine {
                return Ok(LoginCompleted {
                    success: params["success"].as_bool().unwrap_or(false),
                    error: params["error"].as_str().map(str::to_owned),
                });
            }
        }
    }

    /// Cancel this attempt (`account/login/cancel`); `false` when the server no longer
    /// knew it (already completed).
    pub async fn cancel(&self) -> Result<bool> {
        let params = json!({ "loginId": self.login_id });
        let reply = self.client.request("account/login/cancel", params).await?;
        Ok(reply["status"] == "canceled")
    }
}

impl Client {
    /// The signed-in account (`account/read`); with `refresh_token`, refresh a ChatGPT
    /// token first.
    pub async fn account(&self, refresh_token: bool) -> Result<AccountInfo> {
        let params = json!({ "refreshToken": refresh_token });
        let raw = self.request("account/read", params).await?;
        Ok(AccountInfo {
            account: Account::from_value(&raw["account"]),
            requires_openai_auth: raw["requiresOpenaiAuth"].as_bool().unwrap_or(false),
            raw,
        })
    }

    /// Sign in with an OpenAI API key; the app-server stores it in its `CODEX_HOME`.
    pub async fn login_api_key(&self, api_key: &str) -> Result<()> {
        let params = json!({ "type": "apiKey", "apiKey": api_key });
        self.request("account/login/start", params).await.map(drop)
    }

    /// Start a ChatGPT login in a browser: the app-server listens on 127.0.0.1 for the
    /// redirect of [`LoginHandle::auth_url`].
    pub async fn login_chatgpt(&self) -> Result<LoginHandle> {
        self.login(json!({ "type": "chatgpt" })).await
    }

    /// Start a ChatGPT login with a device code, for machines without a browser.
    pub async fn login_chatgpt_device_code(&self) -> Result<LoginHandle> {
        self.login(json!({ "type": "chatgptDeviceCode" })).await
    }

    /// Sign out (`account/logout`, which takes no params): the app-server forgets its
    /// stored credentials.
    pub async fn logout(&self) -> Result<()> {
        self.request("account/logout", Value::Null).await.map(drop)
    }

    async fn login(&self, params: Value) -> Result<LoginHandle> {
        let notifications = self.connection().subscribe();
        let reply = self.request("account/login/start", params).await?;
        let text = |key: &str| reply[key].as_str().map(str::to_owned);
        let Some(login_id) = text("loginId") else {
            return Err(Error::Protocol {
                message: "a login reply carries no `loginId`".into(),
            });
        };
        Ok(LoginHandle {
            client: self.clone(),
            login_id,
            auth_url: text("authUrl"),
            verification_url: text("verificationUrl"),
            user_code: text("userCode"),
            notifications,
        })
    }
}

metadata description = 'App Service authentication with Microsoft Entra ID in front of a site. The platform validates bearer tokens, removes any X-MS-CLIENT-PRINCIPAL-* headers a client sends, sets them from the token, and sets WEBSITE_AUTH_ENABLED.'

@description('Name of the site to protect.')
param siteName string

@description('Application (client) id of the Entra ID app registration that represents the API; tokens must be issued for it.')
@minLength(36)
@maxLength(36)
param clientId string

@description('Tenant whose tokens are accepted.')
param tenantId string

resource site 'Microsoft.Web/sites@2025-03-01' existing = {
  name: siteName
}

resource authentication 'Microsoft.Web/sites/config@2025-03-01' = {
  parent: site
  name: 'authsettingsV2'
  properties: {
    platform: {
      enabled: true
    }
    // The platform lets requests without a token through and the app decides: with Callers__AllowAnonymous=false it
    // answers them 401 problem+json itself. It must, because a browser's EventSource cannot send a bearer token: a job
    // stream (GET /api/chat/{id}/stream) is authorised by the signed token in its URL instead, and a platform 401
    // would stop it before the app could check that token. Tokens that are sent are still validated here.
    globalValidation: {
      requireAuthentication: false
      unauthenticatedClientAction: 'AllowAnonymous'
    }
    identityProviders: {
      azureActiveDirectory: {
        enabled: true
        registration: {
          clientId: clientId
          openIdIssuer: '${environment().authentication.loginEndpoint}${tenantId}/v2.0'
        }
        validation: {
          // v2 access tokens carry the client id as audience, v1 tokens the application id URI.
          allowedAudiences: [
            clientId
            'api://${clientId}'
          ]
        }
      }
    }
    // Single-page apps send bearer tokens; no login flow, no server-side token store.
    login: {
      tokenStore: {
        enabled: false
      }
    }
    httpSettings: {
      requireHttps: true
    }
  }
}

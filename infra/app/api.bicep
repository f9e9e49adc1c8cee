metadata description = 'The Function App: a Flex Consumption plan, the .NET isolated app on it, every app setting the code reads, and optional App Service authentication.'

@description('Name of the Function App.')
param name string

@description('Name of its Flex Consumption plan (one app per plan).')
param planName string

@description('Azure region of the plan and the app.')
param location string

@description('Tags applied to the plan and the app; the app also gets azd-service-name.')
param tags {
  *: string
}

@description('Service name in azure.yaml; azd finds the app to deploy to by this tag.')
param serviceName string

@description('Name of the user-assigned identity the app runs as.')
param identityName string

@description('Name of the storage account: host state (AzureWebJobsStorage), chat queues, jobs table and deployment package.')
param storageAccountName string

@description('Blob container the Flex plan deploys the app package from.')
param deploymentContainerName string

@description('Name of the Key Vault holding the OpenAI key.')
param keyVaultName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Queue the submit handler enqueues chat jobs to (Storage__ChatQueue); its poison queue is <name>-poison.')
param chatQueueName string

@description('Table the jobs are stored in (Storage__JobsTable).')
param jobsTableName string

@description('Base URL of the OpenAI-compatible API (OpenAI__Endpoint).')
param openAIEndpoint string

@description('Model used when a request names none (OpenAI__DefaultModel).')
param defaultModel string

@description('Models a caller may ask for besides the default (OpenAI__AllowedModels).')
param allowedModels string[]

@description('Deployment name of the default model at the primary endpoint; empty: the model id.')
param primaryDeployment string = ''

@description('Base URL of the fallback endpoint; empty for none.')
param fallbackEndpoint string = ''

@description('Model the fallback endpoint serves.')
param fallbackModel string = ''

var hasFallback = !empty(fallbackEndpoint)

@description('Largest completion, in tokens, a caller may ask for (Requests__MaxOutputTokens).')
param maxOutputTokens int

@description('Serve callers without a trusted identity as the shared anonymous caller (Callers__AllowAnonymous).')
param allowAnonymous bool

@description('Daily spend limit in USD over all callers (Budgets__GlobalDailyUsd); empty for none.')
param budgetGlobalDailyUsd string

@description('Daily spend limit in USD per caller (Budgets__PerCallerDailyUsd); empty for none.')
param budgetPerCallerDailyUsd string

@description('Monthly spend limit in USD over all callers (Budgets__GlobalMonthlyUsd); empty for none.')
param budgetGlobalMonthlyUsd string

@description('Monthly spend limit in USD per caller (Budgets__PerCallerMonthlyUsd); empty for none.')
param budgetPerCallerMonthlyUsd string

@description('Comma-separated caller ids allowed to read GET /api/spend (Spend__AdminCallers), besides the admin app role.')
param spendAdminCallers string

@description('Whose answers the response cache may serve (Cache__Scope).')
@allowed([
  'caller'
  'shared'
])
param cacheScope string

@description('NCRONTAB schedule of the spend roll-up timer (SPEND_ROLLUP_SCHEDULE).')
param spendRollupSchedule string

@description('Origins allowed to call the API from a browser.')
param corsAllowedOrigins string[]

@description('Turn on App Service authentication with Microsoft Entra ID.')
param enableAuthentication bool

@description('Application (client) id of the API\'s Entra ID app registration; used only when enableAuthentication is true.')
param authClientId string

@description('Tenant whose tokens are accepted.')
param authTenantId string

@description('Most instances the app may scale out to.')
param maximumInstanceCount int

@description('Memory of each instance, in MB.')
param instanceMemoryMB int

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2024-11-30' existing = {
  name: identityName
}

resource storage 'Microsoft.Storage/storageAccounts@2026-06-01' existing = {
  name: storageAccountName
}

resource vault 'Microsoft.KeyVault/vaults@2026-05-15' existing = {
  name: keyVaultName
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' existing = {
  name: applicationInsightsName
}

resource plan 'Microsoft.Web/serverfarms@2025-03-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    tier: 'FlexConsumption'
    name: 'FC1'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references in app settings resolve with this identity rather than a system-assigned one.
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: instanceMemoryMB
      }
      // Flex takes the worker runtime from here, not from FUNCTIONS_WORKER_RUNTIME / FUNCTIONS_EXTENSION_VERSION.
      // Matches <TargetFramework>net10.0</TargetFramework> in Directory.Build.props (a test keeps the two equal).
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }

  // Every setting the app reads; the Infra tests derive the required names from the Functions.Core options classes.
  // No keys, passwords or SAS anywhere: storage, Key Vault and telemetry all authenticate as the identity.
  resource appSettings 'config' = {
    name: 'appsettings'
    properties: {
      // Functions host storage, identity-based (AzureWebJobsStorage__*); Functions.Core's StorageAccount reads the same.
      AzureWebJobsStorage__accountName: storage.name
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identity.properties.clientId

      // Telemetry with Entra ID auth (the component's local auth is off).
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsights.properties.ConnectionString
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'

      // DefaultAzureCredential picks the user-assigned identity.
      AZURE_CLIENT_ID: identity.properties.clientId

      // Key Vault, read by the app's own SecretClient (not a platform Key Vault reference): the key is re-read every
      // RefreshInterval and on a 401, so rotating it needs no restart, and a missing secret stops start-up by name.
      KeyVault__VaultUri: vault.properties.vaultUri
      KeyVault__ManagedIdentityClientId: identity.properties.clientId
      KeyVault__RefreshInterval: '00:05:00'
      KeyVault__Secrets__OpenAIApiKey: 'openai-api-key'
      // The HMAC key of job-stream URLs (streamUrl), shared by every instance; the deployer sets it (README.md, "Deploy to Azure").
      KeyVault__Secrets__JobStreamSigningKey: 'job-stream-signing-key'

      // OpenAIOptions
      OpenAI__Endpoint: openAIEndpoint
      // Empty on purpose: the key comes from the vault secret 'openai-api-key' (KeyVault__Secrets__OpenAIApiKey), which
      // the deployer sets after provisioning (README.md, "Deploy to Azure"); its value never passes through a template.
      OpenAI__ApiKey: ''
      OpenAI__DefaultModel: defaultModel
      OpenAI__AllowedModels: join(allowedModels, ',')
      OpenAI__NetworkTimeout: '00:01:40'
      // Endpoints: the primary (the one above) and, when fallbackEndpoint is set, a second one whose key is the vault
      // secret 'openai-fallback-api-key'. Listed endpoints take over from OpenAI__Endpoint/OpenAI__ApiKey; the entries
      // of a fallback not configured are empty, which the app reads as not there.
      OpenAI__Endpoints__0__Name: 'primary'
      OpenAI__Endpoints__0__Url: openAIEndpoint
      OpenAI__Endpoints__0__KeyVaultSecret: 'openai-api-key'
      OpenAI__Endpoints__1__Name: hasFallback ? 'fallback' : ''
      OpenAI__Endpoints__1__Url: fallbackEndpoint
      OpenAI__Endpoints__1__KeyVaultSecret: hasFallback ? 'openai-fallback-api-key' : ''
      OpenAI__Models__0__Name: defaultModel
      OpenAI__Models__0__Endpoint: 'primary'
      OpenAI__Models__0__Deployment: primaryDeployment
      OpenAI__Models__1__Name: hasFallback ? fallbackModel : ''
      OpenAI__Models__1__Endpoint: hasFallback ? 'fallback' : ''

      // RoutingOptions: with a fallback, requests naming no model take the route "default": the default model, then
      // the fallback's (on an open circuit, used-up retries or a 404).
      Routing__DefaultRoute: hasFallback ? 'default' : ''
      Routing__Routes__0__Name: hasFallback ? 'default' : ''
      Routing__Routes__0__Models__0: hasFallback ? defaultModel : ''
      Routing__Routes__0__Models__1: hasFallback ? fallbackModel : ''

      // StorageOptions
      Storage__ChatQueue: chatQueueName
      Storage__JobsTable: jobsTableName
      Storage__GateTable: 'upstreamgate'

      // CacheOptions (the code's defaults, except the scope operators choose)
      Cache__Scope: cacheScope
      Cache__DefaultTtl: '1.00:00:00'
      Cache__LeaderLease: '00:02:00'
      Cache__FollowerRecheck: '00:00:01'
      Cache__Table: 'chatcache'
      Cache__SweepSchedule: '0 17 * * * *'
      Cache__LocalTtl: '00:00:10'
      Cache__LocalMaxMegabytes: '64'
      Cache__SavingsFlushInterval: '00:00:01'
      Cache__StaleIfErrorFor: '1.00:00:00'

      // Spend: prices (the built-in list applies; Pricing__Models__0__Model=… overrides a model), the fallback price
      // for unknown models, budgets (empty = no limit), the interactive calls' worth each instance holds ahead of a
      // budget (0 = a reservation row per call) and who may read /api/spend.
      Pricing__Fallback__InputUsdPerMillion: '2.50'
      Pricing__Fallback__CachedInputUsdPerMillion: '1.25'
      Pricing__Fallback__OutputUsdPerMillion: '10.00'
      Budgets__GlobalDailyUsd: budgetGlobalDailyUsd
      Budgets__PerCallerDailyUsd: budgetPerCallerDailyUsd
      Budgets__GlobalMonthlyUsd: budgetGlobalMonthlyUsd
      Budgets__PerCallerMonthlyUsd: budgetPerCallerMonthlyUsd
      Budgets__AllowanceCalls: '8'
      Spend__Table: 'spend'
      Spend__AdminCallers: spendAdminCallers
      Spend__AdminRole: 'admin'

      // Alerts. Webhook URLs are credentials: leave them empty here, store each as a vault secret and map it, e.g.
      // KeyVault__Secrets__AlertsWebhookUrl=alerts-webhook-url (also AlertsSlackWebhookUrl, AlertsTeamsWebhookUrl).
      Alerts__Thresholds: '50,80,100'
      Alerts__DailyDigest: 'true'
      Alerts__ClaimLease: '00:05:00'
      Alerts__WebhookUrl: ''
      Alerts__SlackWebhookUrl: ''
      Alerts__TeamsWebhookUrl: ''

      // OperationalAlerts: upstream 429/5xx rates, circuit open, poison messages and unusual spend (the code's
      // defaults), once per episode to the alert channels above.
      OperationalAlerts__Window: '00:05:00'
      OperationalAlerts__MinimumCalls: '20'
      OperationalAlerts__RateLimitedPercent: '20'
      OperationalAlerts__ServerErrorPercent: '10'
      OperationalAlerts__CircuitOpen: 'true'
      OperationalAlerts__PoisonMessages: '1'
      OperationalAlerts__SpendMultiplier: '3'
      OperationalAlerts__SpendTrailingHours: '24'
      OperationalAlerts__SpendMinimumUsd: '1'
      OperationalAlerts__FlushInterval: '00:00:15'

      // TelemetryOptions: OpenTelemetry to Application Insights (Functions/Program.cs); prompts are never recorded
      // unless RecordMessageContent is turned on.
      Telemetry__ServiceName: 'chat-backend'
      Telemetry__RecordMessageContent: 'false'
      Telemetry__ConsoleSummary: 'false'
      Telemetry__ExportQueueSize: '2048'

      // ResilienceOptions (the code's defaults)
      Resilience__MaxRetries: '4'
      Resilience__BaseBackoff: '00:00:00.500'
      Resilience__MaxBackoff: '00:00:30'
      Resilience__LongWaitThreshold: '00:00:10'
      Resilience__JobDeadline: '00:15:00'
      Resilience__CircuitFailureThreshold: '5'
      Resilience__CircuitBreakDuration: '00:00:30'
      Resilience__ProcessingLease: '00:00:30'
      Resilience__LeaseHeartbeat: '00:00:10'
      Resilience__StaleQueuedAfter: '00:00:45'
      Resilience__JobSweepSchedule: '*/15 * * * * *'

      // RateLimitOptions: per-caller limits (empty: none; set RateLimits__Roles__{role}__RequestsPerMinute etc. to
      // override by role) and upstream pacing to the limits listed in OpenAI__Models__{n}__Name/__RequestsPerMinute/
      // __TokensPerMinute (none listed here: every model unlimited).
      RateLimits__PerCaller__RequestsPerMinute: ''
      RateLimits__PerCaller__TokensPerMinute: ''
      RateLimits__Anonymous__RequestsPerMinute: ''
      RateLimits__Anonymous__TokensPerMinute: ''
      RateLimits__Table: 'ratelimits'
      RateLimits__Pacing: 'true'
      RateLimits__PacingLease: '00:00:01'

      // JobStreamOptions (the code's defaults): GET /api/chat/{id}/stream, its batching, polling, limits and retention.
      JobStreams__FlushInterval: '00:00:01'
      JobStreams__FlushTokens: '40'
      JobStreams__PollInterval: '00:00:00.100'
      JobStreams__KeepAliveInterval: '00:00:15'
      JobStreams__MaxOpenPerCaller: '10'
      JobStreams__TokenLifetime: '00:30:00'
      JobStreams__Retention: '1.00:00:00'
      JobStreams__Table: 'jobstreams'

      // ChatCompletionsOptions (the code's defaults): how long the interactive door waits before its first byte.
      ChatCompletions__MaxUpstreamWait: '00:00:02'
      ChatCompletions__KeepAliveInterval: '00:00:15'

      // ConversationsOptions (the code's defaults): the history budget, the summary model, the table and summary queue
      // (both created by the app at start-up; the SummarizeConversation trigger binds to Conversations__SummaryQueue).
      Conversations__MaxHistoryTokens: '3000'
      Conversations__SummaryModel: 'gpt-4.1-nano'
      Conversations__SummaryMaxTokens: '400'
      Conversations__MaxMessages: '1000'
      Conversations__Table: 'conversations'
      Conversations__SummaryQueue: 'conversation-summaries'

      // CorsOptions: the same origins as siteConfig.cors above, which answers preflights in Azure.
      Cors__AllowedOrigins: join(corsAllowedOrigins, ',')

      // CallerOptions: the principal header is trustworthy only behind App Service authentication.
      Callers__TrustPrincipalHeader: enableAuthentication ? 'true' : 'false'
      Callers__AllowAnonymous: allowAnonymous ? 'true' : 'false'
      Callers__AnonymousCallerId: 'anonymous'

      // RequestLimitsOptions (the code's defaults, except the output cap operators tune for cost)
      Requests__MaxBodyBytes: '262144'
      Requests__MaxMessages: '64'
      Requests__MaxMessageChars: '32000'
      Requests__MaxTotalChars: '128000'
      Requests__MaxOutputTokens: string(maxOutputTokens)

      // Timer trigger schedules (%SPEND_ROLLUP_SCHEDULE%, %OPS_ALERTS_SCHEDULE%)
      SPEND_ROLLUP_SCHEDULE: spendRollupSchedule
      OPS_ALERTS_SCHEDULE: '0 * * * * *'
    }
  }
}

module authentication '../core/host/app-service-auth.bicep' = if (enableAuthentication) {
  name: 'authentication'
  // Site config writes are serialised by the platform; write authentication after the app settings.
  dependsOn: [
    functionApp::appSettings
  ]
  params: {
    siteName: functionApp.name
    clientId: authClientId
    tenantId: authTenantId
  }
}

@description('Name of the Function App.')
output name string = functionApp.name

@description('Base URL of the Function App.')
output uri string = 'https://${functionApp.properties.defaultHostName}'

targetScope = 'subscription'

metadata description = 'Serverless OpenAI backend: a .NET isolated Function App on Flex Consumption that reaches Storage, Key Vault and Application Insights with one user-assigned identity and no keys.'

// ---- azd ----

@description('Name of the azd environment; seeds the unique suffix of every resource name and the azd-env-name tag.')
@minLength(1)
@maxLength(64)
param environmentName string

@description('Region of every resource; it must offer Flex Consumption ("az functionapp list-flexconsumption-locations").')
@minLength(1)
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs the deployment (azd sets AZURE_PRINCIPAL_ID). It gets the app\'s data roles and Key Vault Secrets Officer, to set the OpenAI key. Empty grants nothing.')
param principalId string = ''

@description('Kind of principal principalId is: User for a person, ServicePrincipal for a pipeline.')
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Name of the resource group to create; default rg-<environmentName>.')
param resourceGroupName string = ''

// ---- What an operator tunes (app settings; defaults equal the code's) ----

@description('Base URL of the OpenAI-compatible API (OpenAI__Endpoint), e.g. https://<resource>.openai.azure.com/openai/v1/ for Azure OpenAI.')
param openAIEndpoint string = 'https://api.openai.com/v1'

@description('Deployment name of the default model at the primary endpoint (OpenAI__Models__0__Deployment): an Azure OpenAI deployment may be named apart from its model; empty: the model id.')
param primaryDeployment string = ''

@description('Base URL of a second, fallback endpoint (OpenAI__Endpoints__1__Url), e.g. https://api.openai.com/v1; empty for none. Its key is the vault secret openai-fallback-api-key.')
param fallbackEndpoint string = ''

@description('Model the fallback endpoint serves (OpenAI__Models__1__Name); the default route tries it when the default model fails. Required with fallbackEndpoint.')
param fallbackModel string = ''

@description('Model used when a request names none (OpenAI__DefaultModel).')
@minLength(1)
param defaultModel string = 'gpt-4.1-mini'

@description('Models a caller may ask for besides the default (OpenAI__AllowedModels, joined with commas).')
param allowedModels string[] = []

@description('Largest completion, in tokens, a caller may ask for (Requests__MaxOutputTokens): the main lever on spend per request.')
@minValue(1)
@maxValue(128000)
param maxOutputTokens int = 4096

@description('Serve requests without a trusted caller as one shared anonymous caller (Callers__AllowAnonymous); false answers them 401.')
param allowAnonymous bool = true

@description('Daily spend limit in USD over all callers (Budgets__GlobalDailyUsd); empty for none.')
param budgetGlobalDailyUsd string = ''

@description('Daily spend limit in USD per caller (Budgets__PerCallerDailyUsd); empty for none.')
param budgetPerCallerDailyUsd string = ''

@description('Monthly spend limit in USD over all callers (Budgets__GlobalMonthlyUsd); empty for none.')
param budgetGlobalMonthlyUsd string = ''

@description('Monthly spend limit in USD per caller (Budgets__PerCallerMonthlyUsd); empty for none.')
param budgetPerCallerMonthlyUsd string = ''

@description('Comma-separated caller ids allowed to read GET /api/spend (Spend__AdminCallers), besides the admin app role.')
param spendAdminCallers string = ''

@description('Whose answers the response cache may serve (Cache__Scope): caller (a caller only ever gets its own) or shared (identical requests share answers across callers; only where prompts hold nothing private).')
@allowed([
  'caller'
  'shared'
])
param cacheScope string = 'caller'

@description('NCRONTAB schedule (six fields, seconds first, UTC) of the spend roll-up timer (SPEND_ROLLUP_SCHEDULE).')
param spendRollupSchedule string = '0 0 * * * *'

@description('Origins of the single-page apps allowed to call the API from a browser (CORS), e.g. https://app.contoso.com.')
param corsAllowedOrigins string[] = []

@description('Deploy the demo single-page app (spa/) as a Free Azure Static Web App, and allow its origin in CORS.')
param deployDemoSpa bool = true

@description('Region of the demo SPA\'s Static Web App; empty picks the deployment region when Static Web Apps offers it, else eastus2.')
param demoSpaLocation string = ''

@description('Put App Service authentication (Microsoft Entra ID) in front of the app. Only then does the app trust the X-MS-CLIENT-PRINCIPAL-ID header (Callers__TrustPrincipalHeader follows this).')
param enableAuthentication bool = false

@description('Application (client) id of the Entra ID app registration representing the API; required when enableAuthentication is true.')
param authClientId string = ''

// ---- Sizing and retention ----

@description('Most on-demand instances per function group: a ceiling on spend under load. Flex Consumption accepts 40-1000 in most regions.')
@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 100

@description('Memory of each instance, in MB.')
@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048

@description('Turn on Key Vault purge protection (irreversible; the vault name then stays reserved for 90 days after deletion).')
param keyVaultEnablePurgeProtection bool = false

var abbreviations = loadJsonContent('abbreviations.json')
var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
// Names are fixed before deployment (not read from module outputs), so what-if can predict every resource.
var names = {
  identity: '${abbreviations.managedIdentityUserAssignedIdentities}api-${resourceToken}'
  logAnalytics: '${abbreviations.operationalInsightsWorkspaces}${resourceToken}'
  applicationInsights: '${abbreviations.insightsComponents}${resourceToken}'
  storageAccount: '${abbreviations.storageStorageAccounts}${resourceToken}'
  keyVault: '${abbreviations.keyVaultVaults}${resourceToken}'
  plan: '${abbreviations.webServerFarms}${resourceToken}'
  functionApp: '${abbreviations.webSitesFunctions}api-${resourceToken}'
  demoSpa: '${abbreviations.webStaticSites}spa-${resourceToken}'
}

// Static Web Apps' own regions (its content is served from a global edge; the region holds only its metadata).
var staticWebAppRegions = ['westus2', 'centralus', 'eastus2', 'westeurope', 'eastasia']

// Names the app's options read (Storage__ChatQueue, Storage__JobsTable) and the resources created for them.
var chatQueueName = 'chat-jobs'
var jobsTableName = 'jobs'
var deploymentContainerName = 'app-package-${resourceToken}'

resource resourceGroup 'Microsoft.Resources/resourceGroups@2025-04-01' = {
  name: !empty(resourceGroupName) ? resourceGroupName : '${abbreviations.resourcesResourceGroups}${environmentName}'
  location: location
  tags: tags
}

module identity 'core/security/user-assigned-identity.bicep' = {
  name: 'identity'
  scope: resourceGroup
  params: {
    name: names.identity
    location: location
    tags: tags
  }
}

module monitoring 'core/monitor/monitoring.bicep' = {
  name: 'monitoring'
  scope: resourceGroup
  params: {
    logAnalyticsName: names.logAnalytics
    applicationInsightsName: names.applicationInsights
    location: location
    tags: tags
  }
}

// The operators' view of the backend: tokens, cost, latency and errors per model and endpoint, cache, queues.
module workbook 'core/monitor/workbook.bicep' = {
  name: 'workbook'
  scope: resourceGroup
  params: {
    applicationInsightsId: resourceId(subscription().subscriptionId, resourceGroup.name, 'Microsoft.Insights/components', names.applicationInsights)
    storageAccountId: resourceId(subscription().subscriptionId, resourceGroup.name, 'Microsoft.Storage/storageAccounts', names.storageAccount)
    location: location
    tags: tags
  }
  dependsOn: [
    monitoring
    storage
  ]
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: resourceGroup
  params: {
    name: names.storageAccount
    location: location
    tags: tags
    containers: [deploymentContainerName]
    queues: [
      chatQueueName
      '${chatQueueName}-poison'
    ]
    tables: [jobsTableName]
  }
}

module keyVault 'core/security/key-vault.bicep' = {
  name: 'keyVault'
  scope: resourceGroup
  params: {
    name: names.keyVault
    location: location
    tags: tags
    enablePurgeProtection: keyVaultEnablePurgeProtection
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: resourceGroup
  dependsOn: [
    identity
    storage
    keyVault
    monitoring
  ]
  params: {
    storageAccountName: names.storageAccount
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    identityName: names.identity
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module demoSpa 'app/web.bicep' = if (deployDemoSpa) {
  name: 'demoSpa'
  scope: resourceGroup
  params: {
    name: names.demoSpa
    location: !empty(demoSpaLocation) ? demoSpaLocation : (contains(staticWebAppRegions, location) ? location : 'eastus2')
    tags: tags
    serviceName: 'web'
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: resourceGroup
  // The app starts as soon as it exists; let it find its resources and roles in place.
  dependsOn: [
    identity
    storage
    keyVault
    monitoring
    rbac
  ]
  params: {
    name: names.functionApp
    planName: names.plan
    location: location
    tags: tags
    serviceName: 'api'
    identityName: names.identity
    storageAccountName: names.storageAccount
    deploymentContainerName: deploymentContainerName
    keyVaultName: names.keyVault
    applicationInsightsName: names.applicationInsights
    chatQueueName: chatQueueName
    jobsTableName: jobsTableName
    openAIEndpoint: openAIEndpoint
    primaryDeployment: primaryDeployment
    fallbackEndpoint: fallbackEndpoint
    fallbackModel: fallbackModel
    defaultModel: defaultModel
    allowedModels: allowedModels
    maxOutputTokens: maxOutputTokens
    allowAnonymous: allowAnonymous
    cacheScope: cacheScope
    budgetGlobalDailyUsd: budgetGlobalDailyUsd
    budgetPerCallerDailyUsd: budgetPerCallerDailyUsd
    budgetGlobalMonthlyUsd: budgetGlobalMonthlyUsd
    budgetPerCallerMonthlyUsd: budgetPerCallerMonthlyUsd
    spendAdminCallers: spendAdminCallers
    spendRollupSchedule: spendRollupSchedule
    corsAllowedOrigins: union(corsAllowedOrigins, deployDemoSpa ? [demoSpa!.outputs.uri] : [])
    enableAuthentication: enableAuthentication
    authClientId: authClientId
    authTenantId: tenant().tenantId
    maximumInstanceCount: maximumInstanceCount
    instanceMemoryMB: instanceMemoryMB
  }
}

@description('Region of the deployment.')
output AZURE_LOCATION string = location

@description('Tenant of the deployment.')
output AZURE_TENANT_ID string = tenant().tenantId

@description('Resource group holding everything.')
output AZURE_RESOURCE_GROUP string = resourceGroup.name

@description('Name of the Function App.')
output AZURE_FUNCTION_APP_NAME string = api.outputs.name

@description('Name of the Key Vault; set the OpenAI key with "az keyvault secret set --vault-name <this> --name openai-api-key".')
output AZURE_KEY_VAULT_NAME string = keyVault.outputs.name

@description('URI of the Key Vault.')
output AZURE_KEY_VAULT_ENDPOINT string = keyVault.outputs.uri

@description('Name of the storage account (queues, tables, host state).')
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name

@description('Client id of the app\'s user-assigned identity.')
output AZURE_USER_ASSIGNED_IDENTITY_CLIENT_ID string = identity.outputs.clientId

@description('Application Insights connection string (ingestion needs an Entra ID token; not a secret on its own).')
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString

@description('Name of the app azd deploys the "api" service to.')
output SERVICE_API_NAME string = api.outputs.name

@description('Base URL of the app.')
output SERVICE_API_URI string = api.outputs.uri

@description('Endpoints of the "api" service: the HTTP routes live under /api.')
output SERVICE_API_ENDPOINTS string[] = ['${api.outputs.uri}/api']

@description('Address of the demo SPA (empty when deployDemoSpa is false).')
output SERVICE_WEB_URI string = deployDemoSpa ? demoSpa!.outputs.uri : ''

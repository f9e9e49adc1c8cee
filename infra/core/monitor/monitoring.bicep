metadata description = 'A Log Analytics workspace and a workspace-based Application Insights component that accepts only Microsoft Entra ID authenticated telemetry.'

@description('Name of the Log Analytics workspace.')
param logAnalyticsName string

@description('Name of the Application Insights component.')
param applicationInsightsName string

@description('Azure region of both resources.')
param location string

@description('Tags applied to both resources.')
param tags {
  *: string
}

@description('Days logs are kept. 30 is included in the ingestion price; longer retention is billed per GB per month.')
@minValue(30)
@maxValue(730)
param retentionInDays int = 30

resource workspace 'Microsoft.OperationalInsights/workspaces@2026-03-01' = {
  name: logAnalyticsName
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: retentionInDays
    features: {
      disableLocalAuth: true
    }
  }
}

resource applicationInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: applicationInsightsName
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: workspace.id
    IngestionMode: 'LogAnalytics'
    // Telemetry must carry an Entra ID token (Monitoring Metrics Publisher); the connection string alone cannot write.
    DisableLocalAuth: true
  }
}

@description('Name of the Application Insights component.')
output applicationInsightsName string = applicationInsights.name

@description('Connection string of the component. Not a secret on its own: with local auth disabled it cannot ingest without an Entra ID token.')
output connectionString string = applicationInsights.properties.ConnectionString

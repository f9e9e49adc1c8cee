metadata description = 'The demo single-page app (spa/) as an Azure Static Web App on the Free plan; its origin is added to the API\'s CORS list.'

@description('Name of the Static Web App.')
param name string

@description('Region of the Static Web App (offered in fewer regions than Functions; the content is served from a global edge anyway).')
param location string

@description('Tags of the site; it also gets azd-service-name.')
param tags {
  *: string
}

@description('azd deploys the service of this name (azure.yaml) to this app.')
param serviceName string

resource web 'Microsoft.Web/staticSites@2025-03-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': serviceName })
  sku: {
    name: 'Free'
    tier: 'Free'
  }
  properties: {
    // azd uploads the files; no GitHub workflow is generated.
    buildProperties: {
      skipGithubActionWorkflowGeneration: true
    }
    allowConfigFileUpdates: true
  }
}

output name string = web.name

@description('Origin of the site (https://<generated>.azurestaticapps.net): the CORS entry the API needs.')
output uri string = 'https://${web.properties.defaultHostname}'

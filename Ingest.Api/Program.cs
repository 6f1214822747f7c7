using Scalar.AspNetCore;
using VectorPipeline.Embeddings;
using VectorPipeline.Ingest.Apis;
using VectorPipeline.Ingest.Extensions;
using VectorPipeline.ServiceDefaults.Security;

var builder = WebApplication.CreateBuilder(args);
builder.AddServiceDefaults();
builder.AddApiSecurity();
builder.AddApplicationServices();

var app = builder.Build();
await app.Services.PrepareVectorStoreAsync();
await app.Services.RecordChunkTemplateAsync();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseApiSecurity();
app.MapDefaultEndpoints();
app.MapScalarApiReference().AllowAnonymous(); // /scalar/v1: the interactive API reference over /openapi/v1.json
app.MapDocumentsApi();
app.MapModelsApi();
app.MapStatusApi();
app.MapBatchApi();
app.MapRetryApi();
app.MapDocumentEventsApi();

await app.RunAsync();

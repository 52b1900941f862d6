# Deploy targets (docs/deploy.md). The work is done by scripts/deploy.py, which reads the
# variables from the environment: make exports variables given on its command line, so
#   make deploy QUALYS_POD=US2                      (token from $QUALYS_API_TOKEN, or QUALYS_SECRET_ARN=…)
#   make deploy-region REGION=us-west-2,eu-west-1
#   make deploy-hub QUALYS_POD=US2 OrganizationId=o-…
#   make deploy-spoke-stackset OrganizationId=o-… OrgUnitIds=ou-… SecurityAccountId=… CentralEventBusArn=…
#   make destroy CONFIRM=deployscan
# Each target checks its variables and the AWS CLI first (no AWS call), prints its plan, then runs
# it. DRY_RUN=1 prints the plan only. Keep QUALYS_API_TOKEN in the environment, not on the
# command line, so it never shows in a process list.
DEPLOY := $(PYTHON) scripts/deploy.py

.PHONY: package deploy deploy-hub deploy-region deploy-spoke-stackset destroy

package: ## build the dispatcher zip + runner bundle and upload them (ARTIFACTS_BUCKET=… optional)
	@$(DEPLOY) package

deploy: ## single account: package + scanner stack (QUALYS_POD=…, QSCANNER_URL/SHA256 or QSCANNER_FILE)
	@$(DEPLOY) deploy

deploy-hub: ## hub in the security account: as deploy, plus OrganizationId=o-…
	@$(DEPLOY) deploy-hub

deploy-region: ## forward more regions of this account (REGION=us-west-2,eu-west-1)
	@$(DEPLOY) deploy-region

deploy-spoke-stackset: ## member accounts: OrganizationId OrgUnitIds SecurityAccountId CentralEventBusArn
	@$(DEPLOY) deploy-spoke-stackset

destroy: ## delete the scanner stack (and REGION=… spokes); CONFIRM=<stack name>
	@$(DEPLOY) destroy

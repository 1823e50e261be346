package transfer

import (
	"github.com/danielgtaylor/huma/v2"
	"github.com/gofiber/fiber/v2"
)

// Routes registers /imports and /exports under the tenant.
func (e *Engine) Routes(api huma.API, r fiber.Router) {
	e.exportRoutes(api, r)
	e.importRoutes(api, r)
}
